/** Agent tokens in D1: create, look up by hash, list, revoke. */
import { and, desc, eq, isNull, type SQL } from 'drizzle-orm'
import type { Database } from '../db/client.ts'
import { agentTokens } from '../db/schema.ts'
import { mintAgentToken, newTokenId } from './agent-token.ts'

export type AgentTokenRow = typeof agentTokens.$inferSelect

/** What the admin API shows: everything except the hash. */
export type AgentTokenView = Omit<AgentTokenRow, 'tokenHash'> & { status: AgentTokenStatus }
export type AgentTokenStatus = 'active' | 'expired' | 'revoked'

export type NewAgentToken = {
  name: string
  owner: string
  description: string
  connections: string[]
  expiresAt: number
}

/** Only write `last_used_at` when it is this stale, to keep writes off the hot path. */
const LAST_USED_RESOLUTION_MS = 60_000

export function tokenStatus(row: AgentTokenRow, now: number): AgentTokenStatus {
  if (row.revokedAt !== null) return 'revoked'
  if (row.expiresAt <= now) return 'expired'
  return 'active'
}

export function viewAgentToken(row: AgentTokenRow, now: number): AgentTokenView {
  const { tokenHash: _hash, ...rest } = row
  return { ...rest, status: tokenStatus(row, now) }
}

export async function createAgentToken(
  db: Database,
  input: NewAgentToken,
  createdBy: string,
  now: number
): Promise<{ token: string; row: AgentTokenRow }> {
  const minted = await mintAgentToken()
  const row: AgentTokenRow = {
    id: newTokenId(),
    name: input.name,
    owner: input.owner,
    description: input.description,
    tokenHash: minted.hash,
    tokenHint: minted.hint,
    connections: input.connections,
    createdBy,
    createdAt: now,
    expiresAt: input.expiresAt,
    revokedAt: null,
    revokedBy: null,
    lastUsedAt: null,
  }
  await db.insert(agentTokens).values(row)
  return { token: minted.token, row }
}

/** The lookup by hash, for batching with other per-request reads. */
export function agentTokenByHashQuery(db: Database, hash: string) {
  return db.select().from(agentTokens).where(eq(agentTokens.tokenHash, hash)).limit(1)
}

export async function getAgentToken(db: Database, id: string): Promise<AgentTokenRow | undefined> {
  return db.select().from(agentTokens).where(eq(agentTokens.id, id)).get()
}

export async function listAgentTokens(
  db: Database,
  filter: { name?: string | undefined; includeRevoked: boolean }
): Promise<AgentTokenRow[]> {
  const conditions: SQL[] = []
  if (filter.name) conditions.push(eq(agentTokens.name, filter.name))
  if (!filter.includeRevoked) conditions.push(isNull(agentTokens.revokedAt))
  return db
    .select()
    .from(agentTokens)
    .where(and(...conditions))
    .orderBy(desc(agentTokens.createdAt))
    .all()
}

/** Revokes a token; revoking twice keeps the first revocation. Returns the row, or undefined. */
export async function revokeAgentToken(
  db: Database,
  id: string,
  revokedBy: string,
  now: number
): Promise<AgentTokenRow | undefined> {
  await db
    .update(agentTokens)
    .set({ revokedAt: now, revokedBy })
    .where(and(eq(agentTokens.id, id), isNull(agentTokens.revokedAt)))
  return getAgentToken(db, id)
}

/** Notes that a token was used, at most once a minute per token. */
export async function touchAgentToken(
  db: Database,
  row: AgentTokenRow,
  now: number
): Promise<void> {
  if (row.lastUsedAt !== null && now - row.lastUsedAt < LAST_USED_RESOLUTION_MS) return
  await db.update(agentTokens).set({ lastUsedAt: now }).where(eq(agentTokens.id, row.id))
}
