/**
 * Every detector over one text: each family scans only where its trigger is (`@`, digit
 * spans of nine digits or more, token runs of fifteen characters or more, PEM and webhook
 * markers), then overlapping findings are settled in favour of the more specific one.
 */
import type { DetectorMatch, DetectorName } from '../types.ts'
import { CHAR_CLASSES, DIGIT, NUMBER_SEPARATOR, TOKEN_CHAR, UPPER } from './char-class.ts'
import { EMAIL_LOOKBEHIND_CHARS, findEmails } from './email.ts'
import { ibanEndAt, mayStartIban } from './iban.ts'
import { findInNumericSpan, MIN_NUMBER_DIGITS } from './numbers.ts'
import { findPrivateKeys, MAX_PRIVATE_KEY_CHARS, MIN_PRIVATE_KEY_CHARS } from './private-key.ts'
import { KEY_NAME_LOOKBEHIND_CHARS } from './secret.ts'
import {
  classifyTokenRun,
  findSlackWebhooks,
  MIN_SLACK_WEBHOOK_CHARS,
  MIN_TOKEN_RUN,
} from './tokens.ts'

/** The longest match any detector reports (a PEM private key; a JWT is at most ~12.3 K). */
export const MAX_MATCH_CHARS = MAX_PRIVATE_KEY_CHARS + 128

/**
 * How much text before a match a detector reads to decide it (an email's local part, the
 * `ssn:` or `api_key=` label before a value): what a streaming caller keeps as context.
 */
export const MATCH_CONTEXT_CHARS = Math.max(EMAIL_LOOKBEHIND_CHARS, KEY_NAME_LOOKBEHIND_CHARS) * 2

/** The shortest match but an email: `123-45-6789`, `+1202555014`. */
const MIN_OTHER_MATCH_CHARS = 11

/** On overlap the higher rank wins: a PEM block over the secrets in it, a JWT over `secret`. */
const SPECIFICITY: Readonly<Record<DetectorName, number>> = {
  private_key: 9,
  jwt: 8,
  aws_key: 7,
  github_token: 7,
  slack_token: 7,
  stripe_key: 7,
  api_key: 6,
  iban: 5,
  card: 5,
  us_ssn: 5,
  email: 4,
  phone: 3,
  secret: 1,
}

const NUMBER_DETECTORS: readonly DetectorName[] = ['card', 'phone', 'us_ssn']
const TOKEN_DETECTORS: readonly DetectorName[] = [
  'jwt',
  'aws_key',
  'github_token',
  'slack_token',
  'stripe_key',
  'api_key',
  'secret',
]

/** Which scans a set of detectors needs, worked out once per set. */
type ScanPlan = {
  email: boolean
  privateKey: boolean
  slackWebhook: boolean
  iban: boolean
  numbers: boolean
  tokens: boolean
}

const plans = new WeakMap<ReadonlySet<DetectorName>, ScanPlan>()
// Callers scan many cells with one set: remember the last plan without a map lookup.
let lastEnabled: ReadonlySet<DetectorName> | undefined
let lastPlan: ScanPlan | undefined

function planFor(enabled: ReadonlySet<DetectorName>): ScanPlan {
  if (enabled === lastEnabled && lastPlan) return lastPlan
  let plan = plans.get(enabled)
  if (!plan) {
    plan = {
      email: enabled.has('email'),
      privateKey: enabled.has('private_key'),
      slackWebhook: enabled.has('slack_token'),
      iban: enabled.has('iban'),
      numbers: NUMBER_DETECTORS.some((name) => enabled.has(name)),
      tokens: TOKEN_DETECTORS.some((name) => enabled.has(name)),
    }
    plans.set(enabled, plan)
  }
  lastEnabled = enabled
  lastPlan = plan
  return plan
}

/**
 * The sensitive values in `text` found by the `enabled` detectors: sorted by start, never
 * overlapping, each validated (Luhn, mod-97, JOSE header, …). Matches starting before
 * `from` are left out: that text is context only (a stream's already emitted part).
 * Pass the same `enabled` set each time: what it needs scanning is worked out once per set.
 */
export function findSensitive(
  text: string,
  enabled: ReadonlySet<DetectorName>,
  from = 0
): DetectorMatch[] {
  const plan = planFor(enabled)
  const found: DetectorMatch[] = []
  const length = text.length
  if (plan.email && text.includes('@')) findEmails(text, found)
  if (plan.privateKey && length >= MIN_PRIVATE_KEY_CHARS) findPrivateKeys(text, found)
  if (plan.slackWebhook && length >= MIN_SLACK_WEBHOOK_CHARS) findSlackWebhooks(text, found)
  // Most cells are short: a status, a name, a price. Only an email fits in fewer characters.
  const scan = plan.numbers || plan.tokens || plan.iban
  if (scan && length >= MIN_OTHER_MATCH_CHARS) scanRunsAndSpans(text, enabled, plan, found)
  if (found.length === 0) return found
  return settleOverlaps(found.filter((match) => match.start >= from))
}

/**
 * One pass over the character classes: hands each token run of 15+ characters to the
 * token detectors, each word start shaped like `CCdd` to the IBAN parser, and each numeric
 * span with nine or more digits to the number detectors. Everything else costs one read.
 */
function scanRunsAndSpans(
  text: string,
  enabled: ReadonlySet<DetectorName>,
  plan: ScanPlan,
  found: DetectorMatch[]
): void {
  const length = text.length
  const numbers = plan.numbers
  // A local alias: V8 reads an imported binding through a cell on every access.
  const classes = CHAR_CLASSES
  let runStart = 0
  let runFirstClass = 0
  let spanStart = -1
  let spanEnd = 0
  let spanDigits = 0
  let separators = 0
  for (let i = 0; i < length; i++) {
    const cls = classes[text.charCodeAt(i)] as number
    if ((cls & TOKEN_CHAR) === 0) {
      if (worthClassifying(i - runStart, runFirstClass, plan)) {
        endOfRun(text, runStart, i, enabled, plan, found)
      }
      runStart = i + 1
      runFirstClass = 0
    } else if (runFirstClass === 0) {
      runFirstClass = cls
    }
    if (!numbers) continue
    if ((cls & DIGIT) !== 0) {
      if (spanStart < 0) {
        spanStart = i
        spanDigits = 0
      }
      spanDigits++
      spanEnd = i + 1
      separators = 0
    } else if (spanStart >= 0) {
      if ((cls & NUMBER_SEPARATOR) !== 0 && separators < 2) {
        separators++
      } else {
        if (spanDigits >= MIN_NUMBER_DIGITS) {
          findInNumericSpan(text, spanStart, spanEnd, spanDigits, enabled, found)
        }
        spanStart = -1
        separators = 0
      }
    }
  }
  if (worthClassifying(length - runStart, runFirstClass, plan)) {
    endOfRun(text, runStart, length, enabled, plan, found)
  }
  if (spanStart >= 0 && spanDigits >= MIN_NUMBER_DIGITS) {
    findInNumericSpan(text, spanStart, spanEnd, spanDigits, enabled, found)
  }
}

/** Whether a token run could be a key, token or secret (15+), or an IBAN (`CCdd…`). */
function worthClassifying(runLength: number, firstClass: number, plan: ScanPlan): boolean {
  return runLength >= MIN_TOKEN_RUN || (runLength >= 4 && firstClass === UPPER && plan.iban)
}

/** A token run of 4+ characters ended: an IBAN start, or (15+) a key, token or secret. */
function endOfRun(
  text: string,
  start: number,
  end: number,
  enabled: ReadonlySet<DetectorName>,
  plan: ScanPlan,
  found: DetectorMatch[]
): void {
  if (plan.iban && mayStartIban(text, start)) {
    const ibanEnd = ibanEndAt(text, start)
    if (ibanEnd !== -1) found.push({ start, end: ibanEnd, detector: 'iban' })
  }
  if (plan.tokens && end - start >= MIN_TOKEN_RUN)
    classifyTokenRun(text, start, end, enabled, found)
}

function outranks(a: DetectorMatch, b: DetectorMatch): boolean {
  const rank = SPECIFICITY[a.detector] - SPECIFICITY[b.detector]
  return rank !== 0 ? rank > 0 : a.end - a.start > b.end - b.start
}

/** Sorted, non-overlapping: of two overlapping matches the more specific (then longer) stays. */
function settleOverlaps(found: DetectorMatch[]): DetectorMatch[] {
  found.sort((a, b) => a.start - b.start || b.end - a.end)
  const kept: DetectorMatch[] = []
  for (const match of found) {
    const last = kept[kept.length - 1]
    if (last === undefined || match.start >= last.end) kept.push(match)
    else if (outranks(match, last)) kept[kept.length - 1] = match
  }
  return kept
}
