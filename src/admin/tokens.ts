/** /v1/admin/tokens: mint (secret shown once), list, show and revoke agent tokens. */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { GatehouseError } from '../errors.ts'
import {
  createAgentToken,
  getAgentToken,
  listAgentTokens,
  revokeAgentToken,
  viewAgentToken,
} from '../identity/agent-token-store.ts'
import { ConnectionName } from '../policy/document.ts'
import { recordAdminAction } from './audit.ts'
import { readJson } from './body.ts'

const DAY_SECONDS = 86_400
const DEFAULT_TTL_SECONDS = DAY_SECONDS
const MAX_TTL_SECONDS = 90 * DAY_SECONDS

export const AgentName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"')

export const NewTokenRequest = z
  .object({
    /** The agent's name; policy refers to it as `agent:<name>`. */
    name: AgentName,
    /** Connections the token may reach; `["*"]` for any the policy grants the agent. */
    connections: z.array(z.union([ConnectionName, z.literal('*')])).min(1),
    ttlSeconds: z.number().int().min(60).max(MAX_TTL_SECONDS).default(DEFAULT_TTL_SECONDS),
    owner: z.string().min(1).max(200).optional(),
    description: z.string().max(500).default(''),
  })
  .strict()

export const tokenRoutes = new Hono<AppEnv>()

tokenRoutes.post('/', async (c) => {
  const { gateway, caller } = c.var
  const input = await readJson(c.req.raw, NewTokenRequest)
  const now = gateway.now()
  const { token, row } = await createAgentToken(
    gateway.db,
    {
      name: input.name,
      owner: input.owner ?? caller.name,
      description: input.description,
      connections: [...new Set(input.connections)],
      expiresAt: now + input.ttlSeconds * 1000,
    },
    caller.id,
    now
  )
  recordAdminAction(gateway, caller, c.req.raw, 'token.create', {
    tokenId: row.id,
    name: row.name,
    connections: row.connections,
    expiresAt: row.expiresAt,
  })
  return c.json({ token, ...viewAgentToken(row, now) }, 201)
})

tokenRoutes.get('/', async (c) => {
  const { gateway } = c.var
  const rows = await listAgentTokens(gateway.db, {
    name: c.req.query('name'),
    includeRevoked: c.req.query('includeRevoked') === 'true',
  })
  const now = gateway.now()
  return c.json({ tokens: rows.map((row) => viewAgentToken(row, now)) })
})

tokenRoutes.get('/:id', async (c) => {
  const { gateway } = c.var
  const row = await getAgentToken(gateway.db, c.req.param('id'))
  if (!row) throw notFound(c.req.param('id'))
  return c.json(viewAgentToken(row, gateway.now()))
})

tokenRoutes.post('/:id/revoke', async (c) => {
  const { gateway, caller } = c.var
  const now = gateway.now()
  const row = await revokeAgentToken(gateway.db, c.req.param('id'), caller.id, now)
  if (!row) throw notFound(c.req.param('id'))
  recordAdminAction(gateway, caller, c.req.raw, 'token.revoke', { tokenId: row.id, name: row.name })
  return c.json(viewAgentToken(row, now))
})

function notFound(id: string): GatehouseError {
  return new GatehouseError('resource.not_found', `No agent token with id "${id}".`)
}
