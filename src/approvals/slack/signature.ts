/**
 * Slack request signing (api.slack.com/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}"))`.
 * Anyone who can reach /slack/interactions could otherwise decide approvals.
 */
import { GatehouseError } from '../../errors.ts'

/** Slack's advice: refuse requests whose timestamp is more than five minutes off, against replay. */
export const SLACK_MAX_CLOCK_SKEW_SECONDS = 300

const SIGNATURE = /^v0=([0-9a-f]{64})$/i
const TIMESTAMP = /^[0-9]{1,12}$/

/**
 * Resolves when the request was signed by Slack with `signingSecret` within the last five
 * minutes (either way); throws `slack.stale_request` or `slack.invalid_signature` otherwise.
 */
export async function verifySlackRequest(
  signingSecret: string,
  headers: Headers,
  rawBody: string,
  nowMs: number
): Promise<void> {
  const timestamp = headers.get('x-slack-request-timestamp')?.trim() ?? ''
  const signature = headers.get('x-slack-signature')?.trim() ?? ''
  const match = SIGNATURE.exec(signature)
  if (!TIMESTAMP.test(timestamp) || !match?.[1]) {
    throw invalid('missing or malformed X-Slack-Signature / X-Slack-Request-Timestamp')
  }
  const skew = Math.abs(nowMs / 1000 - Number(timestamp))
  if (!(skew <= SLACK_MAX_CLOCK_SKEW_SECONDS)) {
    throw new GatehouseError(
      'slack.stale_request',
      'The Slack request is too old (or from the future); check the gateway clock.',
      { detail: `timestamp ${timestamp} is ${Math.round(skew)} s away from now` }
    )
  }
  const encoder = new TextEncoder()
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(signingSecret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify']
  )
  // subtle.verify compares the MACs in constant time.
  const valid = await crypto.subtle.verify(
    'HMAC',
    key,
    hexToBytes(match[1]),
    encoder.encode(`v0:${timestamp}:${rawBody}`)
  )
  if (!valid) throw invalid('HMAC mismatch')
}

function invalid(detail: string): GatehouseError {
  return new GatehouseError('slack.invalid_signature', 'The Slack request signature is invalid.', {
    detail,
  })
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return bytes
}
