/**
 * Posts approvals to Slack and brings the message up to date with the outcome: through
 * the Web API with a bot token (chat.postMessage / chat.update), or an incoming webhook
 * plus the interaction's response_url. Errors never carry the token or the webhook URL,
 * which are secrets.
 */
import { z } from 'zod'
import type { SlackConfig } from '../../config.ts'
import { GatehouseError } from '../../errors.ts'
import type { ApprovalRecord, SlackMessageRef } from '../types.ts'
import { approvalMessage, outcomeMessage, type SlackMessage } from './message.ts'

/** Slack answers in well under a second; a stuck call must not hold a Durable Object. */
export const SLACK_TIMEOUT_MS = 10_000

/** The subset of `fetch` the notifier uses; tests may pass their own. */
export type SlackFetch = (url: string, init: RequestInit) => Promise<Response>

/** Web API replies: `{ok: true, …}` or `{ok: false, error: "channel_not_found"}`. */
const WebApiReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), channel: z.string().min(1), ts: z.string().min(1) }),
  z.object({ ok: z.literal(false), error: z.string() }),
])

/** response_url hosts (commercial and GovSlack); tests point `apiUrl` at a local stand-in. */
const RESPONSE_URL_HOSTS = new Set(['hooks.slack.com', 'hooks.slack-gov.com'])

/**
 * Posts the approval message; the returned reference lets the outcome replace it later.
 * A bot token wins over a webhook; null when Slack is not configured.
 */
export async function postApprovalMessage(
  config: SlackConfig,
  record: ApprovalRecord,
  fetcher: SlackFetch = fetch
): Promise<SlackMessageRef | null> {
  const message = approvalMessage(record, { interactive: config.signingSecret !== undefined })
  if (config.bot) {
    const reply = await callWebApi(config, config.bot.token, 'chat.postMessage', fetcher, {
      channel: config.bot.channel,
      ...message,
      unfurl_links: false,
      unfurl_media: false,
    })
    return { kind: 'bot', channel: reply.channel, ts: reply.ts }
  }
  if (config.webhookUrl) {
    await postToHook(config.webhookUrl, 'The Slack webhook', message, fetcher)
    return { kind: 'webhook' }
  }
  return null
}

/**
 * Shows the outcome: chat.update on a bot-posted message; otherwise replaces the message
 * through the interaction's `responseUrl`; a webhook message with no response_url gets a
 * follow-up message. Nothing to do when the approval never reached Slack.
 */
export async function updateApprovalMessage(
  config: SlackConfig,
  record: ApprovalRecord,
  options: { responseUrl?: string },
  fetcher: SlackFetch = fetch
): Promise<void> {
  const message = outcomeMessage(record)
  const ref = record.slack
  if (ref?.kind === 'bot' && config.bot) {
    await callWebApi(config, config.bot.token, 'chat.update', fetcher, {
      channel: ref.channel,
      ts: ref.ts,
      ...message,
    })
    return
  }
  if (options.responseUrl) {
    assertResponseUrl(options.responseUrl, config.apiUrl)
    const body = { replace_original: true, ...message }
    await postToHook(options.responseUrl, 'The Slack response_url', body, fetcher)
    return
  }
  if (ref?.kind === 'webhook' && config.webhookUrl) {
    await postToHook(config.webhookUrl, 'The Slack webhook', message, fetcher)
  }
}

async function callWebApi(
  config: SlackConfig,
  token: string,
  method: 'chat.postMessage' | 'chat.update',
  fetcher: SlackFetch,
  body: Record<string, unknown>
): Promise<{ channel: string; ts: string }> {
  const what = `Slack ${method}`
  const response = await send(fetcher, `${config.apiUrl}/${method}`, what, [token], {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json; charset=utf-8',
    },
    body: JSON.stringify(body),
  })
  const text = await readReply(response, what, [token])
  if (!response.ok) throw failure(response.status, text, what)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {}
  const reply = WebApiReply.safeParse(json)
  if (!reply.success) {
    throw new GatehouseError('slack.unavailable', `${what} gave an answer Gatehouse cannot read.`)
  }
  if (!reply.data.ok) throw refused(what, reply.data.error)
  return reply.data
}

/** Webhooks and response_urls answer `ok` (or JSON `{ok: true}`) and error words otherwise. */
async function postToHook(
  url: string,
  what: string,
  body: SlackMessage & { replace_original?: boolean },
  fetcher: SlackFetch
): Promise<void> {
  const response = await send(fetcher, url, what, [url], {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  })
  const text = await readReply(response, what, [url])
  if (!response.ok) throw failure(response.status, text, what)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return
  }
  const reply = z.object({ ok: z.literal(false), error: z.string() }).safeParse(json)
  if (reply.success) throw refused(what, reply.data.error)
}

async function send(
  fetcher: SlackFetch,
  url: string,
  what: string,
  secrets: string[],
  init: RequestInit
): Promise<Response> {
  try {
    return await fetcher(url, { ...init, signal: AbortSignal.timeout(SLACK_TIMEOUT_MS) })
  } catch (error) {
    throw unreachable(error, what, secrets)
  }
}

/** The body read is under the same timeout signal as the request. */
async function readReply(response: Response, what: string, secrets: string[]): Promise<string> {
  try {
    return await response.text()
  } catch (error) {
    throw unreachable(error, what, secrets)
  }
}

function unreachable(error: unknown, what: string, secrets: string[]): GatehouseError {
  const timedOut = error instanceof Error && error.name === 'TimeoutError'
  const message = timedOut
    ? `${what} did not answer within ${SLACK_TIMEOUT_MS / 1000} s.`
    : `${what} could not be reached.`
  // fetch errors may quote the URL, and a webhook URL is a credential.
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return new GatehouseError('slack.unavailable', message, { detail: redact(detail, secrets) })
}

function failure(status: number, body: string, what: string): GatehouseError {
  if (status === 429) return new GatehouseError('slack.unavailable', `${what} is rate limited.`)
  if (status >= 500) {
    return new GatehouseError('slack.unavailable', `${what} failed with HTTP ${status}.`)
  }
  return refused(what, body, status)
}

/** Slack's error words (`channel_not_found`, `invalid_auth`) are safe to show; nothing else is. */
function refused(what: string, error: string, status?: number): GatehouseError {
  const word = error.trim()
  const reason = /^[a-z0-9_]{1,64}$/.test(word)
    ? word
    : status
      ? `HTTP ${status}`
      : 'an unexpected error'
  return new GatehouseError('slack.rejected', `${what} refused the message: ${reason}.`)
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce(
    (out, secret) => (secret ? out.split(secret).join('[redacted]') : out),
    text
  )
}

/**
 * response_url arrives in a signed payload, but it is still a URL Gatehouse will POST to:
 * only Slack's hosts, or the origin of a test's stand-in API.
 */
function assertResponseUrl(responseUrl: string, apiUrl: string): void {
  const url = URL.parse(responseUrl)
  const trusted =
    url !== null &&
    ((url.protocol === 'https:' && RESPONSE_URL_HOSTS.has(url.hostname)) ||
      url.origin === URL.parse(apiUrl)?.origin)
  if (!trusted) {
    throw new GatehouseError('slack.rejected', 'The response_url is not a Slack URL.', {
      detail: `response_url host: ${url?.host ?? '(unparseable)'}`,
    })
  }
}
