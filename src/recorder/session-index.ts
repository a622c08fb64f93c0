/**
 * The D1 index over transcripts: one row per session with counts, so responders can
 * find sessions without listing R2.
 */
import type { Database } from '../db/client.ts'
import { sessions } from '../db/schema.ts'
import type { Caller } from '../pipeline/types.ts'

export type SessionOutcome = 'ok' | 'blocked' | 'error' | 'refused'

/** Worst first: a session that saw a refusal is listed as refused. */
const OUTCOME_RANK: Record<SessionOutcome, number> = { ok: 0, blocked: 1, error: 2, refused: 3 }

export function worseOutcome(a: SessionOutcome, b: SessionOutcome): SessionOutcome {
  return OUTCOME_RANK[b] > OUTCOME_RANK[a] ? b : a
}

export type SessionTally = {
  commands: number
  allowed: number
  blocked: number
  approvalsRequired: number
  errors: number
  bytesUp: number
  bytesDown: number
  events: number
  outcome: SessionOutcome
  /** Outcomes whose results reached the caller masked (`summary.masked`). */
  masked: number
  /** Held commands an approver let through (`approval` events in state `approved`). */
  approved: number
}

export const EMPTY_TALLY: SessionTally = {
  commands: 0,
  allowed: 0,
  blocked: 0,
  approvalsRequired: 0,
  errors: 0,
  bytesUp: 0,
  bytesDown: 0,
  events: 0,
  outcome: 'ok',
  masked: 0,
  approved: 0,
}

export type SessionRow = {
  id: string
  protocol: string
  connectionName: string
  caller: Caller
  clientIp: string | undefined
  userAgent: string | undefined
  startedAt: number
  endedAt: number | null
  status: 'open' | 'closed' | 'incomplete'
  transcriptPrefix: string
  chunks: number
  lastHash: string | null
  tally: SessionTally
}

/** Inserts or refreshes a session's index row; safe to repeat. */
export async function upsertSessionRow(db: Database, row: SessionRow): Promise<void> {
  const counts = {
    endedAt: row.endedAt,
    status: row.status,
    outcome: row.tally.outcome,
    commands: row.tally.commands,
    allowed: row.tally.allowed,
    blocked: row.tally.blocked,
    approvalsRequired: row.tally.approvalsRequired,
    errors: row.tally.errors,
    bytesUp: row.tally.bytesUp,
    bytesDown: row.tally.bytesDown,
    chunks: row.chunks,
    lastHash: row.lastHash,
    events: row.tally.events,
    masked: row.tally.masked,
    approved: row.tally.approved,
  }
  await db
    .insert(sessions)
    .values({
      id: row.id,
      protocol: row.protocol,
      connectionName: row.connectionName,
      callerId: row.caller.id,
      callerName: row.caller.name,
      callerVia: row.caller.via,
      tokenId: row.caller.tokenId ?? null,
      clientIp: row.clientIp ?? null,
      userAgent: row.userAgent ?? null,
      startedAt: row.startedAt,
      transcriptPrefix: row.transcriptPrefix,
      ...counts,
    })
    .onConflictDoUpdate({ target: sessions.id, set: counts })
}
