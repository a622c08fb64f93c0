/**
 * Reads the next page of the audit stream: the transcript events of closed sessions in
 * (ended_at, id, seq) order, as stored (each line byte for byte, so receivers can check
 * the hash chain). Shared by the pushed export and the pull API.
 *
 * Only sessions closed before `settledBefore` are read: a session's `ended_at` is taken
 * before its last chunk and index row are written, so rows can become visible a little
 * out of order; waiting a few minutes lets them settle before the cursor passes them.
 */
import { and, asc, eq, gt, gte, isNotNull, lte, or } from 'drizzle-orm'
import type { Database } from '../db/client.ts'
import { sessions } from '../db/schema.ts'
import { utf8 } from '../encoding.ts'
import { chunkKey } from '../recorder/transcript-keys.ts'
import type { AuditCursor } from './cursor.ts'

/** How long after `ended_at` a session is exported. */
export const AUDIT_SETTLE_MS = 5 * 60_000
/** Session rows fetched per D1 query while filling a page. */
const SESSIONS_PER_QUERY = 100
/** The envelope `{"events":[…],…}` around the lines stays under this. */
const ENVELOPE_BYTES = 1024

export type PageLimits = {
  maxEvents: number
  /** Whole body size, envelope included; a single larger event still goes alone. */
  maxBytes: number
  settledBefore: number
}

export type AuditPage = {
  /** Transcript lines (JSON objects), in stream order. */
  lines: string[]
  /** Where the page after this one starts. */
  next: AuditCursor
}

export async function readAuditPage(
  store: { db: Database; bucket: R2Bucket },
  from: AuditCursor,
  limits: PageLimits
): Promise<AuditPage> {
  const lines: string[] = []
  const budget = limits.maxBytes - ENVELOPE_BYTES
  let bytes = 0
  let position = from
  for (;;) {
    const rows = await closedSessionsFrom(store.db, position, limits.settledBefore)
    for (const row of rows) {
      const resuming = row.id === position.session && row.endedAt === position.endedAt
      const firstChunk = resuming ? position.chunk : 0
      const firstSeq = resuming ? position.seq : 0
      for (let chunk = firstChunk; chunk < row.chunks; chunk++) {
        // Missing: removed by retention meanwhile. The stream moves on without it.
        const object = await store.bucket.get(chunkKey(row.transcriptPrefix, chunk))
        if (!object) continue
        let previous = -1
        for (const text of (await object.text()).split('\n')) {
          if (!text) continue
          const { seq, line } = readLine(text, row.id, chunk, previous + 1)
          previous = seq
          if (chunk === firstChunk && seq < firstSeq) continue
          const size = utf8(line).byteLength + 1
          if (lines.length >= limits.maxEvents || (lines.length > 0 && bytes + size > budget)) {
            return { lines, next: { endedAt: row.endedAt, session: row.id, chunk, seq } }
          }
          lines.push(line)
          bytes += size
        }
      }
      position = { endedAt: row.endedAt, session: row.id, chunk: row.chunks, seq: 0 }
    }
    if (rows.length < SESSIONS_PER_QUERY) return { lines, next: position }
  }
}

/** The page as JSON, lines spliced in verbatim: `{…fields, "events": [line, …]}`. */
export function pageJson(fields: Record<string, unknown>, lines: readonly string[]): string {
  const head = JSON.stringify(fields).slice(0, -1)
  return `${head}${head.length > 1 ? ',' : ''}"events":[${lines.join(',')}]}`
}

/** Closed sessions at or after the cursor's session, oldest end first. */
function closedSessionsFrom(db: Database, cursor: AuditCursor, settledBefore: number) {
  return db
    .select({
      id: sessions.id,
      endedAt: sessions.endedAt,
      chunks: sessions.chunks,
      transcriptPrefix: sessions.transcriptPrefix,
    })
    .from(sessions)
    .where(
      and(
        eq(sessions.status, 'closed'),
        isNotNull(sessions.endedAt),
        lte(sessions.endedAt, settledBefore),
        or(
          gt(sessions.endedAt, cursor.endedAt),
          and(eq(sessions.endedAt, cursor.endedAt), gte(sessions.id, cursor.session))
        )
      )
    )
    .orderBy(asc(sessions.endedAt), asc(sessions.id))
    .limit(SESSIONS_PER_QUERY)
    .all()
    .then((rows) => rows.map((row) => ({ ...row, endedAt: row.endedAt ?? 0 })))
}

/**
 * A stored line and its seq. A line that is not a JSON object (damaged or tampered with)
 * is sent as `{"sid", "unreadable": "<the text>"}` instead, so the batch stays valid JSON
 * and the damage reaches the SIEM; it takes the seq after the line before it.
 */
function readLine(
  text: string,
  sessionId: string,
  chunk: number,
  seqInPlace: number
): { seq: number; line: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {}
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const seq = (parsed as { seq?: unknown }).seq
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return { seq, line: text }
  }
  return {
    seq: seqInPlace,
    line: JSON.stringify({ sid: sessionId, seq: seqInPlace, chunk, unreadable: text }),
  }
}
