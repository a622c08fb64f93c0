/**
 * Turns a bearer token into a Caller: a Gatehouse agent token (looked up by hash in D1
 * on every request, so revocation is immediate) or an OIDC JWT. Admin access is a
 * separate door: the bootstrap admin token or an OIDC caller in an admin group.
 */
import type { Config } from '../config.ts'
import type { Database } from '../db/client.ts'
import { utf8 } from '../encoding.ts'
import { type ErrorCode, GatehouseError, type GatehouseErrorOptions } from '../errors.ts'
import type { Caller } from '../pipeline/types.ts'
import { hashAgentToken, isAgentTokenShaped } from './agent-token.ts'
import { type AgentTokenRow, findAgentTokenByHash, tokenStatus } from './agent-token-store.ts'
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

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export const BOOTSTRAP_ADMIN: Caller = {
  id: 'admin:bootstrap',
  name: 'bootstrap-admin',
  via: 'admin_token',
  idpGroups: [],
  scope: [],
}

/** Authenticates an agent or user for the data path (proxy, query, exec, tunnel, MCP). */
export async function authenticateCaller(
  token: string,
  deps: IdentityDeps
): Promise<Authenticated> {
  if (isAgentTokenShaped(token)) return authenticateAgentToken(token, deps)
  if (JWT_SHAPE.test(token)) {
    if (!deps.config.oidc) throw invalidToken('OIDC is not configured on this gateway')
    const verified = await verifyOidcToken(token, deps.config.oidc, deps.now())
    return {
      caller: {
        id: `user:${verified.subject}`,
        name: verified.subject,
        ...(verified.email ? { email: verified.email } : {}),
        via: 'oidc',
        idpGroups: verified.groups,
        scope: ['*'],
        issuer: verified.issuer,
      },
    }
  }
  throw invalidToken('token is neither a Gatehouse agent token nor a JWT')
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

async function authenticateAgentToken(token: string, deps: IdentityDeps): Promise<Authenticated> {
  const row = await findAgentTokenByHash(deps.db, await hashAgentToken(token))
  if (!row) throw invalidToken('no agent token has this hash')
  const caller: Caller = {
    id: `agent:${row.name}`,
    name: row.name,
    via: 'agent_token',
    idpGroups: [],
    scope: row.connections,
    tokenId: row.id,
  }
  const status = tokenStatus(row, deps.now())
  if (status === 'revoked') {
    throw new IdentifiedRefusal(caller, 'auth.revoked_token', 'This agent token has been revoked.')
  }
  if (status === 'expired') {
    throw new IdentifiedRefusal(caller, 'auth.expired_token', 'This agent token has expired.')
  }
  return { caller, agentToken: row }
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
