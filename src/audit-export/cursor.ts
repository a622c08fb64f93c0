/**
 * The audit cursor: a position in the stream of transcript events of closed sessions,
 * ordered by (ended_at, session id, seq). It names the next event to deliver, with the
 * chunk that holds it so a resumed export reads no chunk twice.
 *
 *   <endedAt ms>.<session id>.<chunk>.<seq>      e.g. 1795425350064.0199f…-….3.120
 *
 * Pushed exports keep theirs in D1 (`export_cursors`); pull clients keep the `next` they
 * were given.
 */
import { eq } from 'drizzle-orm'
import type { Database } from '../db/client.ts'
import { exportCursors } from '../db/schema.ts'

export type AuditCursor = {
  /** `ended_at` of the session the position is in. */
  endedAt: number
  /** Session id; '' sorts before every id. */
  session: string
  chunk: number
  seq: number
}

/** Before every event. */
export const START_CURSOR: AuditCursor = { endedAt: 0, session: '', chunk: 0, seq: 0 }

const CURSOR = /^(\d{1,16})\.([0-9a-f-]{0,36})\.(\d{1,9})\.(\d{1,12})$/

export function encodeCursor(cursor: AuditCursor): string {
  return `${cursor.endedAt}.${cursor.session}.${cursor.chunk}.${cursor.seq}`
}

/** The cursor `text` encodes, or null when it is not one this gateway handed out. */
export function decodeCursor(text: string): AuditCursor | null {
  const match = CURSOR.exec(text)
  if (!match) return null
  const [, endedAt, session, chunk, seq] = match
  return {
    endedAt: Number(endedAt),
    session: session ?? '',
    chunk: Number(chunk),
    seq: Number(seq),
  }
}

export type ExportState = typeof exportCursors.$inferSelect

/** Where the named export stands; the start when it never ran. */
export async function loadExportCursor(db: Database, id: string): Promise<AuditCursor> {
  const row = await db.select().from(exportCursors).where(eq(exportCursors.id, id)).get()
  return (row && decodeCursor(row.position)) || START_CURSOR
}

/** Advances the cursor: only ever called once the receiver took the batch. */
export async function saveDelivered(
  db: Database,
  id: string,
  position: AuditCursor,
  batch: string | null,
  at: number
): Promise<void> {
  const set = {
    position: encodeCursor(position),
    ...(batch ? { lastBatch: batch, deliveredAt: at } : {}),
    attemptedAt: at,
    lastError: null,
  }
  await db
    .insert(exportCursors)
    .values({ id, ...set })
    .onConflictDoUpdate({ target: exportCursors.id, set })
}

/** Notes a failed attempt; the position stays where it was, so the batch is sent again. */
export async function saveFailure(
  db: Database,
  id: string,
  position: AuditCursor,
  error: string,
  at: number
): Promise<void> {
  await db
    .insert(exportCursors)
    .values({ id, position: encodeCursor(position), attemptedAt: at, lastError: error })
    .onConflictDoUpdate({ target: exportCursors.id, set: { attemptedAt: at, lastError: error } })
}
