/**
 * Turns a bearer token into a Caller: a Gatehouse agent token (looked up by hash in D1
 * on every request, so revocation is immediate) or an OIDC JWT. The steps are exposed
 * separately so the session opener can fold the token lookup into its one D1 batch.
 * Admin access is a separate door: the bootstrap admin token or an OIDC caller in an
 * admin group.
 */
import type { Config } from '../config.ts'
import type { Database } from '../db/client.ts'
import { utf8 } from '../encoding.ts'
import { type ErrorCode, GatehouseError, type GatehouseErrorOptions } from '../errors.ts'
import type { Caller } from '../pipeline/types.ts'
import { hashAgentToken, isAgentTokenShaped } from './agent-token.ts'
import { type AgentTokenRow, agentTokenByHashQuery, tokenStatus } from './agent-token-store.ts'
import { verifyOidcToken } from './oidc.ts'

export type IdentityDeps = { config: Config; db: Database; now: () => number }

/** A refusal of a caller we could identify (revoked or expired agent token), so it can be recorded. */
export class IdentifiedRefusal extends GatehouseError {
  readonly caller: Caller
  constructor(caller: Caller, code: ErrorCode, message: string, options?: GatehouseErrorOptions) {
    super(code, message, options)
    this.caller = caller
  }
}

export type Authenticated = { caller: Caller; agentToken?: AgentTokenRow }

/** What a bearer token claims to be, before any lookup or signature check. */
export type BearerCredential =
  | { kind: 'agent_token'; hash: string }
  | { kind: 'jwt'; token: string }

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export const BOOTSTRAP_ADMIN: Caller = {
  id: 'admin:bootstrap',
  name: 'bootstrap-admin',
  via: 'admin_token',
  idpGroups: [],
  scope: [],
}

export async function classifyBearer(token: string, config: Config): Promise<BearerCredential> {
  if (isAgentTokenShaped(token)) return { kind: 'agent_token', hash: await hashAgentToken(token) }
  if (JWT_SHAPE.test(token)) return { kind: 'jwt', token }
  if (await isBootstrapAdminToken(token, config.adminToken)) {
    throw new GatehouseError(
      'auth.invalid_token',
      'The bootstrap admin token only opens the admin API (/v1/admin); use an agent token or an OIDC token here.'
    )
  }
  throw invalidToken('token is neither a Gatehouse agent token nor a JWT')
}

/** Checks a looked-up agent token row: present, not revoked, not expired. */
export function callerFromAgentToken(row: AgentTokenRow | undefined, now: number): Authenticated {
  if (!row) throw invalidToken('no agent token has this hash')
  const caller: Caller = {
    id: `agent:${row.name}`,
    name: row.name,
    via: 'agent_token',
    idpGroups: [],
    scope: row.connections,
    tokenId: row.id,
    owner: row.owner,
  }
  const status = tokenStatus(row, now)
  if (status === 'revoked') {
    throw new IdentifiedRefusal(caller, 'auth.revoked_token', 'This agent token has been revoked.')
  }
  if (status === 'expired') {
    throw new IdentifiedRefusal(caller, 'auth.expired_token', 'This agent token has expired.')
  }
  return { caller, agentToken: row }
}

/** Verifies an OIDC JWT and describes its bearer. */
export async function callerFromJwt(token: string, config: Config, now: number): Promise<Caller> {
  if (!config.oidc) throw invalidToken('OIDC is not configured on this gateway')
  const verified = await verifyOidcToken(token, config.oidc, now)
  return {
    id: `user:${verified.subject}`,
    name: verified.subject,
    ...(verified.email ? { email: verified.email } : {}),
    via: 'oidc',
    idpGroups: verified.groups,
    scope: ['*'],
    issuer: verified.issuer,
  }
}

/** Authenticates an agent or user on its own (routes that do not open a session). */
export async function authenticateCaller(
  token: string,
  deps: IdentityDeps
): Promise<Authenticated> {
  const credential = await classifyBearer(token, deps.config)
  if (credential.kind === 'jwt') {
    return { caller: await callerFromJwt(credential.token, deps.config, deps.now()) }
  }
  const [row] = await agentTokenByHashQuery(deps.db, credential.hash)
  return callerFromAgentToken(row, deps.now())
}

/** Authenticates an administrator: the bootstrap token, or an OIDC user in an admin group. */
export async function authenticateAdmin(token: string, deps: IdentityDeps): Promise<Caller> {
  if (await isBootstrapAdminToken(token, deps.config.adminToken)) return BOOTSTRAP_ADMIN
  if (isAgentTokenShaped(token)) {
    throw new GatehouseError('admin.forbidden', 'Agent tokens cannot use the admin API.')
  }
  const { caller } = await authenticateCaller(token, deps)
  if (!caller.idpGroups.some((group) => deps.config.adminGroups.includes(group))) {
    throw new GatehouseError(
      'admin.forbidden',
      'The admin API needs membership in an admin group (ADMIN_GROUPS).',
      { detail: `${caller.id} groups: ${caller.idpGroups.join(',')}` }
    )
  }
  return caller
}

/** Compares digests in constant time, so response timing reveals nothing about the secret. */
async function isBootstrapAdminToken(token: string, adminToken: string): Promise<boolean> {
  const [given, expected] = await Promise.all([
    crypto.subtle.digest('SHA-256', utf8(token)),
    crypto.subtle.digest('SHA-256', utf8(adminToken)),
  ])
  return crypto.subtle.timingSafeEqual(given, expected)
}

function invalidToken(detail: string): GatehouseError {
  return new GatehouseError('auth.invalid_token', 'The token is not valid for this gateway.', {
    detail,
  })
}
