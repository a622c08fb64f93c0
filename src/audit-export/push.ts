/**
 * The streaming audit export: on every cron run, sends the transcript events of closed
 * sessions to AUDIT_WEBHOOK_URL in signed batches, oldest first. At-least-once: the
 * cursor advances only after the receiver answered 2xx, so a failed batch's events are
 * sent again on the next run. Receivers dedupe by (sid, seq); a batch id repeats when
 * its range does (the same events in a batch of the same bounds).
 */
import { accepted, deliver, type WebhookFetch } from '../alerts/webhook.ts'
import type { Database } from '../db/client.ts'
import { sha256Hex } from '../encoding.ts'
import {
  type AuditCursor,
  encodeCursor,
  loadExportCursor,
  saveDelivered,
  saveFailure,
} from './cursor.ts'
import { AUDIT_SETTLE_MS, pageJson, readAuditPage } from './event-page.ts'

/** The `export_cursors` row of the pushed export. */
export const AUDIT_EXPORT_ID = 'audit-webhook'
export const MAX_BATCH_EVENTS = 500
export const MAX_BATCH_BYTES = 1024 * 1024
/** A run stops after this many batches or this long, and the next run carries on. */
export const MAX_BATCHES_PER_RUN = 40
export const RUN_BUDGET_MS = 60_000
/** A SIEM ingest endpoint that has not answered a 1 MiB batch by then is failing. */
export const AUDIT_TIMEOUT_MS = 30_000

export type AuditExportStore = {
  db: Database
  bucket: R2Bucket
  /** The run's time: sessions closed before it (less the settle time) are exported. */
  now: number
  /** Wall clock, for the run's time budget. */
  clock: () => number
}

export type AuditExportReport = {
  batches: number
  events: number
  /** The cursor after the run. */
  position: string
  /** Why the run stopped early, when a batch was not taken. */
  failure?: string
  /** More events were ready than the run's budget allowed. */
  more: boolean
}

export async function runAuditExport(
  store: AuditExportStore,
  target: { url: string; secret: string | undefined },
  fetcher: WebhookFetch = fetch
): Promise<AuditExportReport> {
  const started = store.clock()
  let position = await loadExportCursor(store.db, AUDIT_EXPORT_ID)
  const report: AuditExportReport = { batches: 0, events: 0, position: '', more: false }
  const limits = {
    maxEvents: MAX_BATCH_EVENTS,
    maxBytes: MAX_BATCH_BYTES,
    settledBefore: store.now - AUDIT_SETTLE_MS,
  }
  for (;;) {
    if (report.batches >= MAX_BATCHES_PER_RUN || store.clock() - started > RUN_BUDGET_MS) {
      report.more = true
      break
    }
    const page = await readAuditPage(store, position, limits)
    if (!page.lines.length) {
      // Nothing to send, but the cursor may have moved past empty sessions.
      if (encodeCursor(page.next) !== encodeCursor(position)) {
        await saveDelivered(store.db, AUDIT_EXPORT_ID, page.next, null, store.clock())
        position = page.next
      }
      break
    }
    const batch = await auditBatch(position, page.next, page.lines)
    let failure: string | undefined
    try {
      const status = await deliver(
        {
          url: target.url,
          body: batch.body,
          secret: target.secret,
          headers: { 'x-gatehouse-batch': batch.id },
          timeoutMs: AUDIT_TIMEOUT_MS,
          now: store.clock(),
        },
        fetcher
      )
      if (!accepted(status)) failure = `the audit webhook answered HTTP ${status}`
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error)
    }
    if (failure) {
      await saveFailure(store.db, AUDIT_EXPORT_ID, position, failure, store.clock())
      report.failure = failure
      break
    }
    await saveDelivered(store.db, AUDIT_EXPORT_ID, page.next, batch.id, store.clock())
    position = page.next
    report.batches++
    report.events += page.lines.length
  }
  report.position = encodeCursor(position)
  return report
}

/**
 * One batch: `{id, from, to, count, events}`. The id is derived from the range (the
 * cursors before and after it), so the same range always has the same id.
 */
export async function auditBatch(
  from: AuditCursor,
  to: AuditCursor,
  lines: readonly string[]
): Promise<{ id: string; body: string }> {
  const range = { from: encodeCursor(from), to: encodeCursor(to) }
  const id = `b_${(await sha256Hex(`${range.from}>${range.to}`)).slice(0, 32)}`
  return { id, body: pageJson({ id, ...range, count: lines.length }, lines) }
}
