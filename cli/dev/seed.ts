/**
 * Seeds the dev gateway through its own admin API, the way an admin would, and safely
 * on every start: the `demo` connection always points at this run's demo origin; the
 * demo policy is applied to a gateway that has none (a policy you applied since is
 * kept); the demo agent gets a fresh token and the previous dev-minted ones are revoked.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { PolicyDocument } from '../../src/policy/document.ts'
import type { GatehouseClient } from '../client.ts'
import type { AgentTokenView } from '../commands/token.ts'

export const DEMO_CONNECTION = 'demo'
export const DEMO_AGENT = 'demo-agent'
export const DEMO_POLICY_FILE = new URL('./demo-policy.yaml', import.meta.url)
const DEMO_TOKEN_TTL_SECONDS = 7 * 86_400
/** Marks tokens this seeding minted, so a restart revokes only those. */
const DEMO_TOKEN_DESCRIPTION = 'Demo agent token minted by gatehouse dev'

export type SeedResult = {
  agentToken: string
  agentTokenExpiresAt: number
  /** What happened to the policy: applied now, already the demo one, or someone else's kept. */
  policy: { version: number; state: 'applied' | 'unchanged' | 'kept' }
  revokedTokens: number
}

/** Seeds connection, policy and agent token; returns the fresh token and what happened. */
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

  const { tokens } = await client.json<{ tokens: AgentTokenView[] }>('GET', '/v1/admin/tokens', {
    query: { name: DEMO_AGENT },
  })
  const stale = tokens.filter(
    (token) => token.status === 'active' && token.description === DEMO_TOKEN_DESCRIPTION
  )
  for (const token of stale) {
    await client.json('POST', `/v1/admin/tokens/${encodeURIComponent(token.id)}/revoke`)
  }
  const created = await client.json<AgentTokenView & { token: string }>(
    'POST',
    '/v1/admin/tokens',
    {
      json: {
        name: DEMO_AGENT,
        connections: [DEMO_CONNECTION],
        ttlSeconds: DEMO_TOKEN_TTL_SECONDS,
        owner: 'gatehouse dev',
        description: DEMO_TOKEN_DESCRIPTION,
      },
    }
  )
  return {
    agentToken: created.token,
    agentTokenExpiresAt: created.expiresAt,
    policy,
    revokedTokens: stale.length,
  }
}

async function seedPolicy(client: GatehouseClient): Promise<SeedResult['policy']> {
  const source = await readFile(DEMO_POLICY_FILE, 'utf8')
  const current = await client.json<{ version: number; document: unknown }>(
    'GET',
    '/v1/admin/policy'
  )
  if (current.version > 0) {
    // The gateway stores the validated document, so compare it with ours validated the same way.
    const demo = PolicyDocument.parse(parseYaml(source))
    const same = JSON.stringify(current.document) === JSON.stringify(demo)
    return { version: current.version, state: same ? 'unchanged' : 'kept' }
  }
  const applied = await client.json<{ version: number }>('PUT', '/v1/admin/policy', {
    body: source,
    contentType: 'application/yaml',
    headers: { 'if-match': '"0"', 'x-gatehouse-comment': 'gatehouse dev: demo policy' },
  })
  return { version: applied.version, state: 'applied' }
}
