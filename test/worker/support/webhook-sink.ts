/**
 * The webhook receiver of alert and audit-export tests: the Slack stand-in records every
 * request under `/webhook-sink/…` (test/harness/slack-server.ts), and answers with the
 * status a path segment names (`/webhook-sink/500/…`), else 200.
 */
import { inject } from 'vitest'

export type SinkRequest = {
  at: number
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: unknown
  /** The body exactly as received, for signature checks. */
  raw: string
}

/** A receiver URL of its own for one test: `/webhook-sink[/<status>]/<name>-<uuid>`. */
export function sinkUrl(name: string, status?: number): string {
  const segment = status ? `${status}/` : ''
  return `${inject('slackUrl')}/webhook-sink/${segment}${name}-${crypto.randomUUID()}`
}

/** What reached `url` (or any URL under it), oldest first. */
export async function sinkReceived(url: string): Promise<SinkRequest[]> {
  const path = new URL(url).pathname
  const response = await fetch(`${inject('slackUrl')}/__received?path=${encodeURIComponent(path)}`)
  return ((await response.json()) as { received: SinkRequest[] }).received
}

/** Waits for a request to `url` that `matches`. */
export async function waitForSink(
  url: string,
  matches: (request: SinkRequest) => boolean,
  timeoutMs = 5_000
): Promise<SinkRequest> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = (await sinkReceived(url)).find(matches)
    if (found) return found
    if (Date.now() > deadline) throw new Error(`nothing matching reached ${url}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Checks `X-Gatehouse-Signature: t=<unix>,v1=<hex>` the way a receiver would: HMAC-SHA256
 * of "<t>.<raw body>" under the shared secret, compared in constant time, `t` within 5 min.
 */
export async function signatureValid(
  secret: string,
  header: string | string[] | undefined,
  raw: string,
  nowMs = Date.now()
): Promise<boolean> {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(typeof header === 'string' ? header : '')
  if (!match?.[1] || !match[2]) return false
  if (Math.abs(nowMs / 1000 - Number(match[1])) > 300) return false
  const encoder = new TextEncoder()
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify']
  )
  const mac = Uint8Array.from(match[2].match(/../g) ?? [], (byte) => Number.parseInt(byte, 16))
  return crypto.subtle.verify('HMAC', key, mac, encoder.encode(`${match[1]}.${raw}`))
}
