/**
 * Alerts in Slack, through the Slack setup approvals already use: the bot token and
 * channel (chat.postMessage) when set, else the incoming webhook. Every value that came
 * from a caller, a policy or an approver is escaped for mrkdwn and cut to size.
 */
import { escapeMrkdwn, type SlackMessage } from '../approvals/slack/message.ts'
import type { SlackConfig } from '../config.ts'
import type { Alert, AlertType } from './alert.ts'
import type { WebhookFetch } from './webhook.ts'

const TITLES: Record<AlertType, string> = {
  'command.blocked': 'Command blocked',
  'approval.denied': 'Approval denied',
  'approval.expired': 'Approval expired',
  'session.killed': 'Session killed',
}

/** Reasons and comments are free text; Slack sections take 3,000 characters. */
const REASON_MAX = 1_000
const NAME_MAX = 200

/** The Slack message for an alert: one line for notifications, one section with the facts. */
export function alertMessage(alert: Alert): SlackMessage {
  const title = TITLES[alert.type]
  const who = alert.caller ? clip(alert.caller.name, NAME_MAX) : 'someone'
  const where = alert.connection ? clip(alert.connection, NAME_MAX) : 'a connection'
  const lines = [
    `*${title}*: ${escapeMrkdwn(who)} on \`${escapeMrkdwn(where)}\``,
    ...(alert.rule ? [`Rule: \`${escapeMrkdwn(clip(alert.rule, NAME_MAX))}\``] : []),
    escapeMrkdwn(clip(alert.reason, REASON_MAX)),
    ...(alert.by ? [`By: ${escapeMrkdwn(clip(alert.by, NAME_MAX))}`] : []),
    ...(alert.link ? [`<${alert.link}|Open the replay>`] : []),
  ]
  return {
    text: `Gatehouse: ${title}: ${who} on ${where}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }],
  }
}

/** Posts the alert; throws a message safe to log (never the token or the webhook URL). */
export async function postAlertToSlack(
  config: SlackConfig,
  alert: Alert,
  timeoutMs: number,
  fetcher: WebhookFetch = fetch
): Promise<void> {
  const message = alertMessage(alert)
  const send = (url: string, what: string, headers: Record<string, string>, body: unknown) =>
    post(fetcher, url, what, timeoutMs, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
    })
  if (config.bot) {
    const what = 'Slack chat.postMessage'
    const response = await send(
      `${config.apiUrl}/chat.postMessage`,
      what,
      { authorization: `Bearer ${config.bot.token}` },
      { channel: config.bot.channel, ...message, unfurl_links: false }
    )
    const reply = (await response.json().catch(() => null)) as { ok?: unknown; error?: unknown }
    if (response.ok && reply?.ok === true) return
    const word = typeof reply?.error === 'string' ? reply.error : ''
    // Slack's error words (`channel_not_found`) are safe to log; other text may not be.
    throw new Error(
      `${what} refused the alert: ${/^[a-z0-9_]{1,64}$/.test(word) ? word : `HTTP ${response.status}`}`
    )
  }
  if (config.webhookUrl) {
    const what = 'The Slack webhook'
    const response = await send(config.webhookUrl, what, {}, message)
    await response.body?.cancel()
    if (!response.ok) throw new Error(`${what} refused the alert: HTTP ${response.status}`)
    return
  }
  throw new Error('ALERT_SLACK is on, but neither SLACK_WEBHOOK_URL nor SLACK_BOT_TOKEN is set')
}

async function post(
  fetcher: WebhookFetch,
  url: string,
  what: string,
  timeoutMs: number,
  init: RequestInit
): Promise<Response> {
  try {
    return await fetcher(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError'
    throw new Error(
      timedOut
        ? `${what} did not answer within ${timeoutMs / 1000} s`
        : `${what} could not be reached`
    )
  }
}

/** At most `max` code points, cut between code points. */
function clip(text: string, max: number): string {
  const points = Array.from(text.toWellFormed())
  return points.length <= max ? points.join('') : `${points.slice(0, max - 1).join('')}…`
}
