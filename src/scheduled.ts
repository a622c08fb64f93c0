/**
 * The cron path at a glance (wrangler.toml `[triggers]`): first the audit export pushes
 * what closed since its cursor, then retention removes what is past RETENTION_DAYS (and
 * already exported, when the export is on). Each job's outcome is one log line; a failed
 * delivery or a refused delete is logged and retried next run, never thrown.
 */
import { loadExportCursor } from './audit-export/cursor.ts'
import { AUDIT_EXPORT_ID, runAuditExport } from './audit-export/push.ts'
import { loadConfig } from './config.ts'
import { openDatabase } from './db/client.ts'
import { runRetention } from './retention/sweep.ts'

export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  const config = loadConfig(env)
  const db = openDatabase(env.DB)
  const bucket = env.SESSIONS
  const now = controller.scheduledTime
  const crashed: unknown[] = []

  if (config.auditExport) {
    try {
      const report = await runAuditExport({ db, bucket, now, clock: Date.now }, config.auditExport)
      if (report.failure) console.warn('audit export: the receiver did not take a batch', report)
      else console.log('audit export', report)
    } catch (cause) {
      console.error('audit export failed', { cause })
      crashed.push(cause)
    }
  }

  try {
    const keepFrom = config.auditExport ? await loadExportCursor(db, AUDIT_EXPORT_ID) : undefined
    const report = await runRetention(
      { db, bucket, now },
      { days: config.retentionDays, ...(keepFrom ? { keepFrom } : {}) }
    )
    if (report.error) {
      console.error(
        'retention: R2 refused some deletes; their sessions and approvals are kept for the next run. ' +
          'A bucket lock rule on the sessions bucket with a retention period longer than ' +
          'RETENTION_DAYS makes deletes fail until the lock period has passed.',
        report
      )
    } else console.log('retention', report)
  } catch (cause) {
    console.error('retention failed', { cause })
    crashed.push(cause)
  }

  // Visible as a failed cron invocation; the jobs that ran have kept their progress.
  if (crashed.length) throw new Error(`${crashed.length} scheduled job(s) failed; see the log`)
}
