/**
 * /v1/admin/audit/events: the audit stream for SIEMs that pull. The same events, in the
 * same order, as the pushed export: transcript lines of closed sessions, byte for byte.
 * Keep `next` and pass it back as `since`; an empty page keeps the same `next`.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { decodeCursor, encodeCursor, START_CURSOR } from '../audit-export/cursor.ts'
import { AUDIT_SETTLE_MS, pageJson, readAuditPage } from '../audit-export/event-page.ts'
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from '../audit-export/push.ts'
import { parseWith } from './body.ts'

const MAX_PULL_EVENTS = 1_000

const AuditQuery = z
  .object({
    /** The `next` of the previous page; absent: from the first event kept. */
    since: z
      .string()
      .refine((value) => decodeCursor(value) !== null, 'is not a cursor from this API')
      .optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PULL_EVENTS).default(MAX_BATCH_EVENTS),
  })
  .strict()

export const auditEventRoutes = new Hono<AppEnv>()

auditEventRoutes.get('/events', async (c) => {
  const query = parseWith(AuditQuery, c.req.query(), 'request.invalid', 'Invalid audit query')
  const { gateway } = c.var
  const since = (query.since && decodeCursor(query.since)) || START_CURSOR
  const page = await readAuditPage(gateway, since, {
    maxEvents: query.limit,
    maxBytes: MAX_BATCH_BYTES,
    settledBefore: gateway.now() - AUDIT_SETTLE_MS,
  })
  const body = pageJson({ next: encodeCursor(page.next), count: page.lines.length }, page.lines)
  return c.body(body, 200, { 'content-type': 'application/json; charset=utf-8' })
})
