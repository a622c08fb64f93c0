/**
 * Keys, tokens and secrets in a run of token characters (letters, digits, `_ - + /`) long
 * enough to be a credential: first by vendor prefix (`AKIA`, `ghp_`, `xoxb-`, `sk_live_`,
 * `sk-`, `eyJ`), then by randomness. Slack webhook URLs are found by their fixed path.
 */
import type { DetectorMatch, DetectorName } from '../types.ts'
import { findSecretsInRun } from './secret.ts'

/** Shortest run any token detector can match (`xoxb-` + 10). */
export const MIN_TOKEN_RUN = 15
/** Shorter runs can only be a token with a short prefix: `xoxb-…`, `sk_test_…`, `eyJ…`. */
const MIN_UNPREFIXED_RUN = 17
const SHORT_TOKEN_FIRST_CHARS = 'xsrpe'

type PrefixedToken = { detector: DetectorName; firstChars: string; pattern: RegExp }

/** Vendor formats, each anchored (sticky) at a run start and bounded in length. */
const PREFIXED_TOKENS: readonly PrefixedToken[] = [
  { detector: 'aws_key', firstChars: 'A', pattern: /(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/y },
  {
    detector: 'github_token',
    firstChars: 'g',
    pattern: /(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251})(?![A-Za-z0-9_])/y,
  },
  {
    detector: 'slack_token',
    firstChars: 'x',
    pattern: /xox[abposr]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])/y,
  },
  {
    detector: 'stripe_key',
    firstChars: 'sprw',
    pattern:
      /(?:[spr]k_(?:live|test)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{24,247})(?![A-Za-z0-9])/y,
  },
  {
    // OpenAI (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-api03-…`), OpenRouter (`sk-or-v1-…`).
    detector: 'api_key',
    firstChars: 's',
    pattern:
      /sk-(?:(?:proj|svcacct|admin|ant-api\d\d|or-v\d)-)?[A-Za-z0-9_-]{20,250}(?![A-Za-z0-9_-])/y,
  },
  {
    // RFC 7519 §7.2: header, payload and signature in base64url; JWS allows an empty payload.
    detector: 'jwt',
    firstChars: 'e',
    pattern:
      /eyJ[A-Za-z0-9_-]{8,2048}\.[A-Za-z0-9_-]{0,8192}\.[A-Za-z0-9_-]{0,2048}(?![A-Za-z0-9_-])/y,
  },
]

/** `aws_secret_access_key = "…40 chars…"`: the one AWS secret with no prefix of its own. */
const AWS_SECRET_NAME = /^(?:aws_)?secret_access_key$/i
const AWS_SECRET_VALUE = /["']?\s{0,3}[:=]\s{0,3}["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/y

/**
 * Pushes what the token run text[start, end) is (a vendor key or token, an AWS secret
 * assigned to its name, a high-entropy secret), if anything, onto `found`.
 */
export function classifyTokenRun(
  text: string,
  start: number,
  end: number,
  enabled: ReadonlySet<DetectorName>,
  found: DetectorMatch[]
): void {
  const first = text[start] as string
  const runLength = end - start
  if (runLength < MIN_UNPREFIXED_RUN && !SHORT_TOKEN_FIRST_CHARS.includes(first)) return
  for (const { detector, firstChars, pattern } of PREFIXED_TOKENS) {
    if (!firstChars.includes(first) || !enabled.has(detector)) continue
    pattern.lastIndex = start
    const match = pattern.exec(text)
    if (!match) continue
    const matchEnd = start + match[0].length
    if (isConfirmed(detector, match[0])) {
      found.push({ start, end: matchEnd, detector })
      return
    }
  }
  if (enabled.has('aws_key') && (runLength === 17 || runLength === 21)) {
    if (AWS_SECRET_NAME.test(text.slice(start, end))) {
      AWS_SECRET_VALUE.lastIndex = end
      const value = AWS_SECRET_VALUE.exec(text)
      if (value) {
        const valueEnd = end + value[0].length
        found.push({ start: valueEnd - 40, end: valueEnd, detector: 'aws_key' })
        return
      }
    }
  }
  if (enabled.has('secret')) findSecretsInRun(text, start, end, found)
}

const API_KEY_PREFIX = /^sk-(?:(?:proj|svcacct|admin|ant-api\d\d|or-v\d)-)?/

/** Checks a prefix match can't make alone: real JWT header, random-looking API key body. */
function isConfirmed(detector: DetectorName, token: string): boolean {
  if (detector === 'jwt') return hasJwtHeader(token.slice(0, token.indexOf('.')))
  if (detector === 'api_key') {
    // `sk-learn-pipeline-tutorial-notes` is prose; a key body mixes letters and digits.
    const body = token.replace(API_KEY_PREFIX, '')
    const separators = body.match(/[-_]/g)?.length ?? 0
    return /\d/.test(body) && /[A-Za-z]/.test(body) && separators * 8 <= body.length
  }
  return true
}

/** RFC 7515 §4.1.1: a JOSE header is a JSON object with an `alg` string. */
function hasJwtHeader(segment: string): boolean {
  try {
    const json: unknown = JSON.parse(atob(segment.replaceAll('-', '+').replaceAll('_', '/')))
    return typeof json === 'object' && json !== null && typeof Reflect.get(json, 'alg') === 'string'
  } catch {
    return false
  }
}

const SLACK_WEBHOOK_PATH = 'hooks.slack.com/services/'
/** The path and the shortest team, channel and secret parts. */
export const MIN_SLACK_WEBHOOK_CHARS = SLACK_WEBHOOK_PATH.length + 16
const SLACK_WEBHOOK =
  /hooks\.slack\.com\/services\/T[A-Z0-9]{2,16}\/B[A-Z0-9]{2,16}\/[A-Za-z0-9]{8,64}(?![A-Za-z0-9])/y

/** Pushes Slack incoming-webhook URLs (whose path is the credential) onto `found`. */
export function findSlackWebhooks(text: string, found: DetectorMatch[]): void {
  for (
    let at = text.indexOf(SLACK_WEBHOOK_PATH);
    at !== -1;
    at = text.indexOf(SLACK_WEBHOOK_PATH, at + 1)
  ) {
    SLACK_WEBHOOK.lastIndex = at
    const match = SLACK_WEBHOOK.exec(text)
    if (!match) continue
    const start = at >= 8 && text.startsWith('https://', at - 8) ? at - 8 : at
    found.push({ start, end: at + match[0].length, detector: 'slack_token' })
  }
}
