/**
 * Where the gateway raises alerts, and how they leave: each entry point builds the alert
 * and hands delivery to `waitUntil`, so an alert never slows or breaks the data path.
 * Deliveries are one attempt each, under a timeout; failures are logged, not retried
 * (the transcript stays the record of what happened).
 */
import { eq } from 'drizzle-orm'
import type { ApprovalRecord } from '../approvals/types.ts'
import { type Config, loadConfig } from '../config.ts'
import { sessions } from '../db/schema.ts'
import type { GatehouseError } from '../errors.ts'
import type { Gateway } from '../pipeline/gateway.ts'
import type { Caller } from '../pipeline/types.ts'
import {
  type Alert,
  type AlertType,
  approvalEndedAlert,
  commandBlockedAlert,
  sessionKilledAlert,
} from './alert.ts'
import { postAlertToSlack } from './slack-alert.ts'
import { accepted, deliver, type WebhookFetch } from './webhook.ts'

/** A receiver that has not answered by then is not going to help a responder in time. */
export const ALERT_TIMEOUT_MS = 5_000

type AlertConfig = Pick<Config, 'alerts' | 'slack'>

/** Whether `type` is wanted and has somewhere to go. */
export function alertWanted(config: AlertConfig, type: AlertType): boolean {
  const { alerts } = config
  return alerts.events.includes(type) && (alerts.webhook !== undefined || alerts.slack)
}

/**
 * Delivers the alert to the webhook (signed) and Slack, as configured, concurrently.
 * Never rejects: each failure is logged with the alert's type and session.
 */
export async function sendAlert(
  config: AlertConfig,
  alert: Alert,
  now: number,
  fetcher: WebhookFetch = fetch
): Promise<void> {
  if (!alertWanted(config, alert.type)) return
  const { webhook, slack } = config.alerts
  const sends: Promise<void>[] = []
  if (webhook) {
    sends.push(
      deliver(
        {
          url: webhook.url,
          body: JSON.stringify(alert),
          secret: webhook.secret,
          headers: { 'x-gatehouse-event': alert.type },
          timeoutMs: ALERT_TIMEOUT_MS,
          now,
        },
        fetcher
      ).then((status) => {
        if (!accepted(status)) throw new Error(`the alert webhook answered HTTP ${status}`)
      })
    )
  }
  if (slack) sends.push(postAlertToSlack(config.slack, alert, ALERT_TIMEOUT_MS, fetcher))
  const results = await Promise.allSettled(sends)
  for (const result of results) {
    if (result.status === 'rejected') {
      console.error('sending an alert failed', {
        type: alert.type,
        session: alert.session,
        cause: result.reason instanceof Error ? result.reason.message : String(result.reason),
      })
    }
  }
}

/** The session a blocked command belongs to (GatewaySession fits). */
export type BlockedIn = { id: string; caller: Caller; connection: { name: string } }

/** `command.blocked`: called where the refusal is recorded, before it is thrown. */
export function alertCommandBlocked(
  gateway: Gateway,
  session: BlockedIn,
  refusal: GatehouseError
): void {
  try {
    if (!alertWanted(gateway.config, 'command.blocked')) return
    const data = refusal.data as { rule?: unknown } | undefined
    const alert = commandBlockedAlert({
      at: gateway.now(),
      publicUrl: gateway.publicUrl,
      sessionId: session.id,
      connection: session.connection.name,
      caller: session.caller,
      rule: typeof data?.rule === 'string' ? data.rule : null,
      reason: refusal.message,
    })
    gateway.waitUntil(sendAlert(gateway.config, alert, gateway.now()))
  } catch (cause) {
    console.error('raising an alert failed', { type: 'command.blocked', cause })
  }
}

/**
 * `approval.denied` / `approval.expired`, from the ApprovalRequest Durable Object once the
 * state is stored; other states raise nothing. Pass the promise to `ctx.waitUntil`.
 */
export async function alertApprovalEnded(env: object, record: ApprovalRecord): Promise<void> {
  try {
    const config = loadConfig(env)
    const publicUrl = config.publicUrl ?? new URL(record.url).origin
    const alert = approvalEndedAlert(record, publicUrl, Date.now())
    if (alert) await sendAlert(config, alert, Date.now())
  } catch (cause) {
    console.error('raising an alert failed', { approval: record.id, cause })
  }
}

/**
 * `session.killed`, for the kill switch: who killed which session and why. The session's
 * connection and caller are read from its index row, off the caller's path.
 */
export function alertSessionKilled(
  gateway: Gateway,
  input: { sessionId: string; by: string; reason: string }
): void {
  if (!alertWanted(gateway.config, 'session.killed')) return
  const at = gateway.now()
  const send = async () => {
    const row = await gateway.db
      .select({
        connection: sessions.connectionName,
        callerId: sessions.callerId,
        callerName: sessions.callerName,
      })
      .from(sessions)
      .where(eq(sessions.id, input.sessionId))
      .get()
      .catch(() => undefined)
    const alert = sessionKilledAlert({
      at,
      publicUrl: gateway.publicUrl,
      sessionId: input.sessionId,
      connection: row?.connection ?? null,
      caller: row ? { id: row.callerId, name: row.callerName } : null,
      by: input.by,
      reason: input.reason,
    })
    await sendAlert(gateway.config, alert, gateway.now())
  }
  gateway.waitUntil(
    send().catch((cause) =>
      console.error('raising an alert failed', { type: 'session.killed', cause })
    )
  )
}
