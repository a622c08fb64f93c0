/**
 * Seeds the dev gateway through its own admin API, the way an admin would, and safely
 * on every start: the `demo` connection always points at this run's demo origin; the
 * demo policy is applied to a gateway that has none, or brought up to date if an earlier
 * run applied an older one (a policy you applied since is kept); the demo agent and the
 * demo approver get fresh tokens, and the ones earlier runs minted are revoked.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { PolicyDocument } from '../../src/policy/document.ts'
import type { GatehouseClient } from '../client.ts'
import type { AgentTokenView } from '../commands/token.ts'

export const DEMO_CONNECTION = 'demo'
export const DEMO_AGENT = 'demo-agent'
/** In the demo policy's `approvers` group: may approve or deny the demo agent's payments. */
export const DEMO_APPROVER = 'demo-approver'
export const DEMO_POLICY_FILE = new URL('./demo-policy.yaml', import.meta.url)
const DEMO_TOKEN_TTL_SECONDS = 7 * 86_400
/** Marks tokens this seeding minted, so a restart revokes only those. */
const DEMO_TOKEN_DESCRIPTION = 'Demo agent token minted by gatehouse dev'
const DEMO_APPROVER_TOKEN_DESCRIPTION = 'Demo approver token minted by gatehouse dev'
/** Marks the policy versions this seeding applied. */
const DEMO_POLICY_COMMENT = 'gatehouse dev: demo policy'

export type SeedResult = {
  agentToken: string
  agentTokenExpiresAt: number
  /** agent:demo-approver's token: decides approvals (`gatehouse approvals approve`). */
  approverToken: string
  approverTokenExpiresAt: number
  /** What happened to the policy: applied now, already the demo one, or someone else's kept. */
  policy: { version: number; state: 'applied' | 'unchanged' | 'kept' }
  /** The demo agent's tokens from earlier runs, revoked now (the approver's are too). */
  revokedTokens: number
}

/** Seeds connection, policy and the two tokens; returns the fresh tokens and what happened. */
export async function seedDemo(
  client: GatehouseClient,
  origin: { url: string; secret: string }
): Promise<SeedResult> {
  await client.json('PUT', `/v1/admin/connections/${DEMO_CONNECTION}`, {
    json: {
      kind: 'http',
      target: { url: origin.url },
      credential: { type: 'bearer', token: origin.secret },
      description: 'Demo shop API started by gatehouse dev',
    },
  })
  const policy = await seedPolicy(client)

  const agent = await mintDevToken(client, DEMO_AGENT, DEMO_TOKEN_DESCRIPTION)
  const approver = await mintDevToken(client, DEMO_APPROVER, DEMO_APPROVER_TOKEN_DESCRIPTION)
  return {
    agentToken: agent.token,
    agentTokenExpiresAt: agent.expiresAt,
    approverToken: approver.token,
    approverTokenExpiresAt: approver.expiresAt,
    policy,
    revokedTokens: agent.revoked,
  }
}

/** Revokes the tokens earlier runs minted for `name` (marked by `description`) and mints a fresh one. */
async function mintDevToken(
  client: GatehouseClient,
  name: string,
  description: string
): Promise<{ token: string; expiresAt: number; revoked: number }> {
  const { tokens } = await client.json<{ tokens: AgentTokenView[] }>('GET', '/v1/admin/tokens', {
    query: { name },
  })
  const stale = tokens.filter(
    (token) => token.status === 'active' && token.description === description
  )
  for (const token of stale) {
    await client.json('POST', `/v1/admin/tokens/${encodeURIComponent(token.id)}/revoke`)
  }
  const created = await client.json<AgentTokenView & { token: string }>(
    'POST',
    '/v1/admin/tokens',
    {
      json: {
        name,
        // The API wants at least one; the demo policy grants the approver no connection.
        connections: [DEMO_CONNECTION],
        ttlSeconds: DEMO_TOKEN_TTL_SECONDS,
        owner: 'gatehouse dev',
        description,
      },
    }
  )
  return { token: created.token, expiresAt: created.expiresAt, revoked: stale.length }
}

async function seedPolicy(client: GatehouseClient): Promise<SeedResult['policy']> {
  const source = await readFile(DEMO_POLICY_FILE, 'utf8')
  const current = await client.json<{ version: number; comment?: string; document: unknown }>(
    'GET',
    '/v1/admin/policy'
  )
  if (current.version > 0) {
    // The gateway stores the validated document, so compare it with ours validated the same way.
    const demo = PolicyDocument.parse(parseYaml(source))
    if (JSON.stringify(current.document) === JSON.stringify(demo)) {
      return { version: current.version, state: 'unchanged' }
    }
    // An older demo policy that an earlier `gatehouse dev` applied (and nobody replaced since)
    // is still ours to bring up to date; any other policy is someone's, and is kept.
    if (current.comment !== DEMO_POLICY_COMMENT) return { version: current.version, state: 'kept' }
  }
  const applied = await client.json<{ version: number }>('PUT', '/v1/admin/policy', {
    body: source,
    contentType: 'application/yaml',
    headers: { 'if-match': `"${current.version}"`, 'x-gatehouse-comment': DEMO_POLICY_COMMENT },
  })
  return { version: applied.version, state: 'applied' }
}
