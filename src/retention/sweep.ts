/**
 * Retention: each cron run removes, oldest first, closed sessions that ended before the
 * cutoff (RETENTION_DAYS ago): their transcript chunks in R2, then their D1 rows; and
 * ended approvals, their R2 logs, then their rows. Objects go before rows, so a row never
 * points at nothing it did not already lack; a failed delete keeps the rows, and the next
 * run tries again. Open sessions are never touched. Work per run is bounded; a backlog
 * drains over several runs.
 */
import { and, asc, eq, inArray, isNotNull, lt, ne, or } from 'drizzle-orm'
import type { AuditCursor } from '../audit-export/cursor.ts'
import type { Database } from '../db/client.ts'
import { approvals, sessions } from '../db/schema.ts'
import {
  approvalLogPrefix,
  chunkKey,
  manifestKey,
  TERMINAL_PREFIX,
} from '../recorder/transcript-keys.ts'
import { deleteOwnedObjects, type OwnedKeys } from './object-deletes.ts'

export const DAY_MS = 86_400_000
/** Sessions and approvals considered per run: well inside a cron run's subrequests. */
export const SESSIONS_PER_RUN = 5_000
export const APPROVALS_PER_RUN = 500
/** D1 binds at most 100 parameters per statement. */
const IDS_PER_STATEMENT = 90

export type RetentionStore = { db: Database; bucket: R2Bucket; now: number }

export type RetentionOptions = {
  /** RETENTION_DAYS; 0 keeps everything. */
  days: number
  /**
   * With the audit export on: its cursor. Sessions it has not delivered yet are kept,
   * so a SIEM that was down does not lose them.
   */
  keepFrom?: AuditCursor
  /** Bounds of one run; SESSIONS_PER_RUN and APPROVALS_PER_RUN unless given. */
  perRun?: { sessions: number; approvals: number }
}

export type RetentionReport = {
  cutoff: string | null
  sessions: number
  approvals: number
  /** Keys deleted (a session's manifest key counts even where it had none). */
  objects: number
  /** Rows kept because their objects could not be deleted. */
  kept: number
  error?: string
  /** The run hit its bound: more is due. */
  more: boolean
}

export async function runRetention(
  store: RetentionStore,
  options: RetentionOptions
): Promise<RetentionReport> {
  const report: RetentionReport = {
    cutoff: null,
    sessions: 0,
    approvals: 0,
    objects: 0,
    kept: 0,
    more: false,
  }
  if (options.days === 0) return report
  const cutoff = store.now - options.days * DAY_MS
  const perRun = options.perRun ?? { sessions: SESSIONS_PER_RUN, approvals: APPROVALS_PER_RUN }
  report.cutoff = new Date(cutoff).toISOString()

  const expired = await expiredSessions(store.db, cutoff, options.keepFrom, perRun.sessions)
  const sessionKeys: OwnedKeys[] = []
  for (const row of expired) {
    const keys = sessionObjectKeys(row.transcriptPrefix, row.chunks)
    // Terminal recordings have no count in the row: listed, for SSH sessions only.
    if (row.protocol === 'ssh') {
      keys.push(...(await listKeys(store.bucket, `${row.transcriptPrefix}${TERMINAL_PREFIX}`)))
    }
    sessionKeys.push({ owner: row.id, keys })
  }
  const sessionResult = await deleteOwnedObjects(store.bucket, sessionKeys)
  await deleteRows(store.db, sessionResult.deleted, (ids) =>
    store.db.delete(sessions).where(and(inArray(sessions.id, ids), eq(sessions.status, 'closed')))
  )

  const ended = await endedApprovals(store.db, cutoff, perRun.approvals)
  const approvalKeys: OwnedKeys[] = []
  for (const row of ended) {
    approvalKeys.push({
      owner: row.id,
      keys: await listKeys(store.bucket, approvalLogPrefix(row.id, row.requestedAt)),
    })
  }
  const approvalResult = await deleteOwnedObjects(store.bucket, approvalKeys)
  await deleteRows(store.db, approvalResult.deleted, (ids) =>
    store.db.delete(approvals).where(inArray(approvals.id, ids))
  )

  report.sessions = sessionResult.deleted.length
  report.approvals = approvalResult.deleted.length
  report.objects = sessionResult.objects + approvalResult.objects
  report.kept =
    expired.length - sessionResult.deleted.length + ended.length - approvalResult.deleted.length
  const error = sessionResult.error ?? approvalResult.error
  if (error) report.error = error
  report.more = expired.length === perRun.sessions || ended.length === perRun.approvals
  return report
}

function expiredSessions(
  db: Database,
  cutoff: number,
  keepFrom: AuditCursor | undefined,
  limit: number
) {
  return db
    .select({
      id: sessions.id,
      transcriptPrefix: sessions.transcriptPrefix,
      chunks: sessions.chunks,
      protocol: sessions.protocol,
    })
    .from(sessions)
    .where(
      and(
        eq(sessions.status, 'closed'),
        isNotNull(sessions.endedAt),
        lt(sessions.endedAt, cutoff),
        keepFrom
          ? or(
              lt(sessions.endedAt, keepFrom.endedAt),
              and(eq(sessions.endedAt, keepFrom.endedAt), lt(sessions.id, keepFrom.session))
            )
          : undefined
      )
    )
    .orderBy(asc(sessions.endedAt), asc(sessions.id))
    .limit(limit)
    .all()
}

function endedApprovals(db: Database, cutoff: number, limit: number) {
  return db
    .select({ id: approvals.id, requestedAt: approvals.requestedAt })
    .from(approvals)
    .where(
      and(
        ne(approvals.state, 'pending'),
        isNotNull(approvals.endedAt),
        lt(approvals.endedAt, cutoff)
      )
    )
    .orderBy(asc(approvals.endedAt))
    .limit(limit)
    .all()
}

/**
 * Every object a closed session has: its chunks (the index row counts them) and its
 * signed manifest. Derived from the layout rather than listed: one listing per session
 * would cost a subrequest each.
 */
function sessionObjectKeys(prefix: string, chunks: number): string[] {
  const keys = Array.from({ length: chunks }, (_, chunk) => chunkKey(prefix, chunk))
  keys.push(manifestKey(prefix))
  return keys
}

/** Every key under `prefix` (an approval's log: a handful of objects). */
async function listKeys(bucket: R2Bucket, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) })
    keys.push(...page.objects.map((object) => object.key))
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return keys
}

/** Deletes rows by id in one D1 round trip, a statement per 90 ids. */
async function deleteRows<Q extends Parameters<Database['batch']>[0][number]>(
  db: Database,
  ids: readonly string[],
  statement: (ids: string[]) => Q
): Promise<void> {
  const statements: Q[] = []
  for (let at = 0; at < ids.length; at += IDS_PER_STATEMENT) {
    statements.push(statement(ids.slice(at, at + IDS_PER_STATEMENT)))
  }
  const [first, ...rest] = statements
  if (first) await db.batch([first, ...rest])
}
