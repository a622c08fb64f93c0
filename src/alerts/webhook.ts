/**
 * Signed JSON deliveries to an operator's webhook (alerts, audit export batches). The
 * signature lets a receiver check the body came from this gateway and is fresh:
 *
 *   X-Gatehouse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Receivers recompute the HMAC over the raw body, compare in constant time, and refuse
 * a `t` far from their clock. Errors never carry the URL: it may embed a token.
 */
import { toHex, utf8 } from '../encoding.ts'

export const SIGNATURE_HEADER = 'x-gatehouse-signature'

/** The subset of `fetch` deliveries use; tests may pass their own. */
export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>

export type Delivery = {
  url: string
  /** The exact bytes signed and sent. */
  body: string
  /** HMAC key; absent: the delivery is unsigned. */
  secret: string | undefined
  headers?: Record<string, string>
  timeoutMs: number
  now: number
}

/** The `X-Gatehouse-Signature` value for `body` sent at `unixSeconds`. */
export async function signatureHeader(
  secret: string,
  unixSeconds: number,
  body: string
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    utf8(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  const mac = await crypto.subtle.sign('HMAC', key, utf8(`${unixSeconds}.${body}`))
  return `t=${unixSeconds},v1=${toHex(new Uint8Array(mac))}`
}

/**
 * POSTs the body once and resolves with the HTTP status (the body is drained); throws
 * when the receiver cannot be reached or does not answer within the timeout.
 */
export async function deliver(delivery: Delivery, fetcher: WebhookFetch = fetch): Promise<number> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Gatehouse',
    ...delivery.headers,
  }
  if (delivery.secret) {
    const unixSeconds = Math.floor(delivery.now / 1000)
    headers[SIGNATURE_HEADER] = await signatureHeader(delivery.secret, unixSeconds, delivery.body)
  }
  const signal = AbortSignal.timeout(delivery.timeoutMs)
  try {
    const response = await fetcher(delivery.url, {
      method: 'POST',
      headers,
      body: delivery.body,
      signal,
    })
    await response.body?.cancel()
    return response.status
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError'
    throw new Error(
      timedOut
        ? `the webhook did not answer within ${delivery.timeoutMs / 1000} s`
        : 'the webhook could not be reached'
    )
  }
}

/** 2xx: the receiver took it. */
export function accepted(status: number): boolean {
  return status >= 200 && status < 300
}
