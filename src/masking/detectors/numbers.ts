/**
 * Card numbers, US SSNs and phone numbers (phone.ts), tried group by group inside a
 * "numeric span" (digit groups joined by at most two of ` - . ( )`) that the scan found to
 * hold at least nine digits: prices, dates, times and short ids never get here.
 */
import type { DetectorMatch, DetectorName } from '../types.ts'
import { isAlnumAt, isDigitAt } from './char-class.ts'
import {
  digitRunEnd,
  endsCleanly,
  HYPHEN,
  OPEN_PAREN,
  PLUS,
  SPACE,
  standsAlone,
} from './digit-bounds.ts'
import { MIN_PHONE_DIGITS, phoneEndAt } from './phone.ts'
import { isCardNumberShape, isPlausibleSsn, passesLuhn } from './validators.ts'

/** The fewest digits any of these detectors matches (an SSN). */
export const MIN_NUMBER_DIGITS = 9
const MIN_CARD_DIGITS = 13
const MAX_CARD_DIGITS = 19

/** A card number at `start`: 13-19 digits, bare or in groups (4-4-4-4, 4-6-5, …). */
function cardEndAt(text: string, start: number): number {
  const groupEnds: number[] = []
  const sizes: number[] = []
  let separator = 0
  let total = 0
  let i = start
  while (total <= MAX_CARD_DIGITS) {
    const end = digitRunEnd(text, i, MAX_CARD_DIGITS)
    total += end - i
    sizes.push(end - i)
    groupEnds.push(end)
    const next = text.charCodeAt(end)
    if ((next !== SPACE && next !== HYPHEN) || (separator && next !== separator)) break
    if (!isDigitAt(text, end + 1)) break
    separator = next
    i = end + 1
  }
  let digits = 0
  for (let count = 1; count <= sizes.length; count++) digits += sizes[count - 1] as number
  for (let count = sizes.length; count >= 1; count--) {
    const end = groupEnds[count - 1] as number
    if (digits >= MIN_CARD_DIGITS && digits <= MAX_CARD_DIGITS && isCardGrouping(sizes, count)) {
      // A dashed id that goes on after the card-length prefix is one id, not a card.
      const continues = count < sizes.length
      const bounded = continues ? separator === SPACE : endsCleanly(text, end)
      if (bounded && !(separator === SPACE && inHexTable(text, start, end))) {
        const number = text.slice(start, end).replace(/[ -]/g, '')
        if (isCardNumberShape(number) && passesLuhn(number)) return end
      }
    }
    digits -= sizes[count - 1] as number
  }
  return -1
}

/**
 * Whether spaced groups sit in a table of 4-character hex or digit groups (code charts,
 * dumps: `544E 5446 5443 5433 5448 5442`) rather than standing on their own.
 */
function inHexTable(text: string, start: number, end: number): boolean {
  const quadAt = (at: number) =>
    /^[0-9A-Fa-f]{4}$/.test(text.slice(at, at + 4)) &&
    !isAlnumAt(text, at - 1) &&
    !isAlnumAt(text, at + 4)
  const before = text.charCodeAt(start - 1) === SPACE && quadAt(start - 5)
  return before || (text.charCodeAt(end) === SPACE && quadAt(end + 1))
}

function isCardGrouping(sizes: readonly number[], count: number): boolean {
  if (count === 1) return true
  if (sizes[0] !== 4) return false
  for (let i = 1; i < count; i++) {
    const size = sizes[i] as number
    if (size < 3 || size > 6) return false
  }
  return true
}

const SSN_CONTEXT = /(?<![A-Za-z])(?:ssn|social[ _-]?security)[A-Za-z _-]{0,12}[^A-Za-z0-9]{0,4}$/i
const SSN_CONTEXT_CHARS = 32

/**
 * A US SSN at `start`: `123-45-6789`, or nine bare digits right after an `ssn` / `social
 * security` label (bare nine-digit numbers are too often ids to mask on shape alone).
 */
function ssnEndAt(text: string, start: number): number {
  const end = digitRunEnd(text, start, 9)
  if (end - start === 3) {
    // 123-45-6789: area, group and serial.
    const dashed =
      text.charCodeAt(end) === HYPHEN &&
      digitRunEnd(text, end + 1, 2) === end + 3 &&
      text.charCodeAt(end + 3) === HYPHEN &&
      digitRunEnd(text, end + 4, 4) === end + 8
    if (!dashed || !endsCleanly(text, end + 8)) return -1
    const area = text.slice(start, end)
    const plausible = isPlausibleSsn(
      area,
      text.slice(end + 1, end + 3),
      text.slice(end + 4, end + 8)
    )
    return plausible ? end + 8 : -1
  }
  // A label needs at least `ssn` + a separator before the number.
  if (end - start !== 9 || start < 4 || !endsCleanly(text, end)) return -1
  const labelled = SSN_CONTEXT.test(text.slice(Math.max(0, start - SSN_CONTEXT_CHARS), start))
  const digits = text.slice(start, end)
  const plausible = isPlausibleSsn(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))
  return labelled && plausible ? end : -1
}

/** The first detector that matches at group start `start`, most specific first. */
function numberMatchAt(
  text: string,
  start: number,
  card: boolean,
  ssn: boolean,
  phone: boolean
): DetectorMatch | undefined {
  // `(202) 555-0143` and `+1 202…` start one character before their digits.
  const before = text.charCodeAt(start - 1)
  if ((before === PLUS || before === OPEN_PAREN) && phone && standsAlone(text, start - 1)) {
    const end = phoneEndAt(text, start - 1)
    if (end !== -1) return { start: start - 1, end, detector: 'phone' }
  }
  if (!standsAlone(text, start)) return undefined
  if (card) {
    const end = cardEndAt(text, start)
    if (end !== -1) return { start, end, detector: 'card' }
  }
  if (ssn) {
    const end = ssnEndAt(text, start)
    if (end !== -1) return { start, end, detector: 'us_ssn' }
  }
  if (phone) {
    const end = phoneEndAt(text, start)
    if (end !== -1) return { start, end, detector: 'phone' }
  }
  return undefined
}

/**
 * Pushes the cards, phone numbers and SSNs in the numeric span text[spanStart, spanEnd),
 * which holds `digits` digits.
 */
export function findInNumericSpan(
  text: string,
  spanStart: number,
  spanEnd: number,
  digits: number,
  enabled: ReadonlySet<DetectorName>,
  found: DetectorMatch[]
): void {
  const card = digits >= MIN_CARD_DIGITS && enabled.has('card')
  const phone = digits >= MIN_PHONE_DIGITS && enabled.has('phone')
  const ssn = enabled.has('us_ssn')
  let afterDigit = isDigitAt(text, spanStart - 1)
  for (let at = spanStart; at < spanEnd; at++) {
    const digit = isDigitAt(text, at)
    // Each detector starts at the first digit of a group.
    const match = digit && !afterDigit ? numberMatchAt(text, at, card, ssn, phone) : undefined
    if (match) {
      found.push(match)
      at = match.end - 1
      afterDigit = isDigitAt(text, at)
    } else {
      afterDigit = digit
    }
  }
}
