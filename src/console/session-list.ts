/**
 * The console's session list over the D1 index: filters from the query string (zod), and
 * keyset paging newest first on (started_at, id), which the `sessions_started` index
 * serves directly, so a page costs the same on the first day and the thousandth.
 */
import { and, desc, eq, gt, gte, inArray, lt, or, type SQL, sql } from 'drizzle-orm'
import { z } from 'zod'
import type { Database } from '../db/client.ts'
import { sessions } from '../db/schema.ts'
import { GatehouseError } from '../errors.ts'

/** Rows per page. */
export const SESSIONS_PER_PAGE = 50

export const OUTCOME_FILTERS = ['blocked', 'approved', 'masked', 'error'] as const
export type OutcomeFilter = (typeof OUTCOME_FILTERS)[number]

/** An empty form field means "any". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    schema.optional()
  )

/** `datetime-local` input (`2026-11-23T09:00`, seconds optional), read as UTC. */
const UtcMinute = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'must be a date and time (UTC)')
  .transform((value, ctx) => {
    const ms = Date.parse(`${value}Z`)
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid date and time' })
      return z.NEVER
    }
    return ms
  })

/** What the list form submits. Unknown parameters are ignored. */
export const SessionFilters = z.object({
  /** `agent:<name>` or `user:<sub>`; a bare name means the agent of that name. */
  caller: optional(
    z
      .string()
      .trim()
      .max(200)
      .transform((value) => (value.includes(':') ? value : `agent:${value}`))
  ),
  connection: optional(z.string().trim().max(100)),
  outcome: optional(z.enum(OUTCOME_FILTERS)),
  /** Only sessions still open (`live=1`): what a kill applies to. */
  live: optional(z.literal('1')),
  from: optional(UtcMinute),
  to: optional(UtcMinute),
  /** Keyset cursor: `<started_at>.<id>` of the last row of the previous page. */
  before: optional(z.string().regex(/^\d{1,16}\.[0-9a-f-]{36}$/, 'is not a page cursor')),
})
export type SessionFilters = z.infer<typeof SessionFilters>

/** Parses the list's query string; a bad value is a 400 naming the field. */
export function parseSessionFilters(query: Record<string, string>): SessionFilters {
  const parsed = SessionFilters.safeParse(query)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`)
    throw new GatehouseError('request.invalid', `Invalid filter: ${problems.join('; ')}.`)
  }
  return parsed.data
}

const LIST_COLUMNS = {
  id: sessions.id,
  protocol: sessions.protocol,
  connectionName: sessions.connectionName,
  callerId: sessions.callerId,
  startedAt: sessions.startedAt,
  endedAt: sessions.endedAt,
  status: sessions.status,
  outcome: sessions.outcome,
  commands: sessions.commands,
  blocked: sessions.blocked,
  approvalsRequired: sessions.approvalsRequired,
  approved: sessions.approved,
  masked: sessions.masked,
  errors: sessions.errors,
}

export type SessionListRow = Pick<typeof sessions.$inferSelect, keyof typeof LIST_COLUMNS>

export type SessionPage = {
  rows: SessionListRow[]
  /** Cursor of the next (older) page, or null on the last one. */
  next: string | null
}

/** What the outcome filters mean over the index's counters. */
function outcomeCondition(outcome: OutcomeFilter): SQL | undefined {
  switch (outcome) {
    // Stopped by the gateway: a blocking rule, a denied or expired approval, a refusal.
    case 'blocked':
      return or(gt(sessions.blocked, 0), inArray(sessions.outcome, ['blocked', 'refused']))
    case 'approved':
      return gt(sessions.approved, 0)
    case 'masked':
      return gt(sessions.masked, 0)
    case 'error':
      return gt(sessions.errors, 0)
  }
}

/**
 * The query for one page of sessions, newest first, matching `filters`: one row more than
 * `limit`, so `sessionPage` can tell whether an older page exists. Unawaited, for batching.
 */
export function sessionListQuery(db: Database, filters: SessionFilters, limit = SESSIONS_PER_PAGE) {
  const conditions: (SQL | undefined)[] = [
    filters.caller ? eq(sessions.callerId, filters.caller) : undefined,
    filters.connection ? eq(sessions.connectionName, filters.connection) : undefined,
    filters.outcome ? outcomeCondition(filters.outcome) : undefined,
    // A literal, not a parameter: SQLite then serves it from the partial `sessions_open` index.
    filters.live ? sql`${sessions.status} = 'open'` : undefined,
    filters.from !== undefined ? gte(sessions.startedAt, filters.from) : undefined,
    filters.to !== undefined ? lt(sessions.startedAt, filters.to) : undefined,
  ]
  if (filters.before) {
    const dot = filters.before.indexOf('.')
    const startedAt = Number(filters.before.slice(0, dot))
    const id = filters.before.slice(dot + 1)
    // A row value comparison: SQLite walks the (started_at, id) index from the cursor on.
    conditions.push(sql`(${sessions.startedAt}, ${sessions.id}) < (${startedAt}, ${id})`)
  }
  return db
    .select(LIST_COLUMNS)
    .from(sessions)
    .where(and(...conditions))
    .orderBy(desc(sessions.startedAt), desc(sessions.id))
    .limit(limit + 1)
}

/** The page `sessionListQuery` answered, with the cursor of the next one. */
export function sessionPage(rows: SessionListRow[], limit = SESSIONS_PER_PAGE): SessionPage {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return { rows: page, next: rows.length > limit && last ? `${last.startedAt}.${last.id}` : null }
}

/** The query string of `filters` with another cursor (or none), for paging links. */
export function filterQuery(filters: SessionFilters, before?: string | null): string {
  const params = new URLSearchParams()
  if (filters.caller) params.set('caller', filters.caller)
  if (filters.connection) params.set('connection', filters.connection)
  if (filters.outcome) params.set('outcome', filters.outcome)
  if (filters.live) params.set('live', '1')
  if (filters.from !== undefined) params.set('from', utcMinute(filters.from))
  if (filters.to !== undefined) params.set('to', utcMinute(filters.to))
  if (before) params.set('before', before)
  const query = params.toString()
  return query ? `?${query}` : ''
}

/** A time as a `datetime-local` value, in UTC (seconds only when there are any). */
export function utcMinute(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.slice(17, 19) === '00' ? iso.slice(0, 16) : iso.slice(0, 19)
}
