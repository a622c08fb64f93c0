/** The D1 index over approvals (list, filter); each approval's Durable Object is the truth. */
import { eq } from 'drizzle-orm'
import type { Database } from '../db/client.ts'
import { approvals } from '../db/schema.ts'
import type { ApprovalRecord } from './types.ts'

export type ApprovalRow = typeof approvals.$inferSelect

function rowOf(record: ApprovalRecord): ApprovalRow {
  return {
    id: record.id,
    sessionId: record.sessionId,
    commandSeq: record.commandSeq,
    connectionName: record.connection.name,
    requesterId: record.requester.id,
    requesterName: record.requester.name,
    summary: record.summary,
    commandHash: record.commandHash,
    rule: record.rule,
    reason: record.reason,
    approvers: [...record.approvers],
    state: record.state,
    requestedAt: record.requestedAt,
    expiresAt: record.expiresAt,
    decidedBy: record.decision?.by.id ?? null,
    decidedVia: record.decision?.via ?? null,
    endedAt: record.endedAt ?? record.decision?.at ?? null,
    consumedAt: record.consumedAt ?? null,
  }
}

/** Inserts or refreshes the row of an approval. */
export async function indexApproval(db: Database, record: ApprovalRecord): Promise<void> {
  const { id, ...rest } = rowOf(record)
  await db
    .insert(approvals)
    .values({ id, ...rest })
    .onConflictDoUpdate({ target: approvals.id, set: rest })
}

export async function indexedApproval(db: Database, id: string): Promise<ApprovalRow | undefined> {
  const rows = await db.select().from(approvals).where(eq(approvals.id, id)).limit(1)
  return rows[0]
}
