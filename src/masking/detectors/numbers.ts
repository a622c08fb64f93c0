/**
 * Card numbers, phone numbers and US SSNs, looked for group by group inside a "numeric
 * span" (digit groups joined by at most two of ` - . ( )`) that the scan found to hold at
 * least nine digits: prices, dates, times and short ids never get here.
 */
import type { DetectorMatch, DetectorName } from '../types.ts'
import { ALNUM, classAt, isAlnumAt, isDigitAt, NUMBER_SEPARATOR } from './char-class.ts'
import { isCardNumberShape, isPlausibleSsn, passesLuhn } from './validators.ts'

/** The fewest digits any of these detectors matches (an SSN). */
export const MIN_NUMBER_DIGITS = 9
const MIN_CARD_DIGITS = 13
const MAX_CARD_DIGITS = 19
const MIN_PHONE_DIGITS = 10
/** E.164 §6.1: at most 15 digits including the country code. */
const MAX_PHONE_DIGITS = 15

const PLUS = 43
const HYPHEN = 45
const DOT = 46
const SPACE = 32
const OPEN_PAREN = 40
const CLOSE_PAREN = 41

/**
 * Whether a number may start at `start`: not glued to a word or another number
 * (`ORD-2024-000123`, `v1.2.3`, `#100045678`, `+`-prefixed, `_`-joined).
 */
function standsAlone(text: string, start: number): boolean {
  const before = text.charCodeAt(start - 1)
  if (Number.isNaN(before)) return true
  if ((classAt(text, start - 1) & ALNUM) !== 0) return false
  if (before === HYPHEN || before === DOT) return !isAlnumAt(text, start - 2)
  return before !== PLUS && before !== 95 /* _ */ && before !== 35 /* # */ && before !== 47 /* / */
}

/** Whether a number may end at `end`: no letter, decimal part or `-`/`/`-joined digits next. */
function endsCleanly(text: string, end: number): boolean {
  if (isAlnumAt(text, end)) return false
  const after = text.charCodeAt(end)
  const joined = after === HYPHEN || after === DOT || after === 44 /* , */ || after === 47 /* / */
  return !(joined && isDigitAt(text, end + 1))
}

function isNumberSeparatorAt(text: string, index: number): boolean {
  return (classAt(text, index) & NUMBER_SEPARATOR) !== 0
}

function digitRunEnd(text: string, start: number, limit: number): number {
  let end = start
  while (end - start <= limit && isDigitAt(text, end)) end++
  return end
}

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
      if (continues ? separator === SPACE : endsCleanly(text, end)) {
        const number = text.slice(start, end).replace(/[ -]/g, '')
        if (isCardNumberShape(number) && passesLuhn(number)) return end
      }
    }
    digits -= sizes[count - 1] as number
  }
  return -1
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

/**
 * A phone number from `start` (a `+`, `(` or digit): international (`+44 20 7946 0018`,
 * `+12025550143`, 10-15 digits), North American (`(202) 555-0143`, `202-555-0143`,
 * `1 202 555 0143`; area code and exchange begin with 2-9), or national with a trunk 0
 * (`020 7946 0018`, 10-11 digits in 2-3 groups of 3+). Bare digit runs without `+` never are.
 * Like cards, a number followed by a space and more digits still counts.
 */
function phoneEndAt(text: string, start: number): number {
  const international = text.charCodeAt(start) === PLUS
  // Without `+`, a phone number has groups: a bare run of digits is an id or an amount.
  if (
    !international &&
    isDigitAt(text, start) &&
    !isNumberSeparatorAt(text, digitRunEnd(text, start, MAX_PHONE_DIGITS))
  ) {
    return -1
  }
  const groups = phoneGroups(text, international ? start + 1 : start)
  for (let count = groups.length; count >= 1; count--) {
    const end = (groups[count - 1] as PhoneGroup).end
    const boundary =
      count === groups.length ? endsCleanly(text, end) : text.charCodeAt(end) === SPACE
    if (boundary && isPhoneShape(text, groups.slice(0, count), international)) return end
  }
  return -1
}

type PhoneGroup = { start: number; size: number; end: number; parenthesised: boolean }

/** Digit groups from `at`: `202`, `(202)`, joined by one of ` - .` or nothing before `(`. */
function phoneGroups(text: string, at: number): PhoneGroup[] {
  const groups: PhoneGroup[] = []
  let digits = 0
  let i = at
  while (groups.length < 6) {
    const parenthesised = text.charCodeAt(i) === OPEN_PAREN
    const groupStart = parenthesised ? i + 1 : i
    let groupEnd = digitRunEnd(text, groupStart, MAX_PHONE_DIGITS)
    const size = groupEnd - groupStart
    if (size === 0 || digits + size > MAX_PHONE_DIGITS) break
    if (parenthesised) {
      if (size > 4 || text.charCodeAt(groupEnd) !== CLOSE_PAREN) break
      groupEnd++
    }
    groups.push({ start: groupStart, size, end: groupEnd, parenthesised })
    digits += size
    i = groupEnd
    const next = text.charCodeAt(i)
    const separated = next === SPACE || next === HYPHEN || next === DOT
    if (separated && (isDigitAt(text, i + 1) || text.charCodeAt(i + 1) === OPEN_PAREN)) i++
    else if (!(next === OPEN_PAREN || (parenthesised && isDigitAt(text, i)))) break
  }
  return groups
}

function isPhoneShape(
  text: string,
  groups: readonly PhoneGroup[],
  international: boolean
): boolean {
  const digits = groups.reduce((sum, group) => sum + group.size, 0)
  const leading = (group: PhoneGroup | undefined) => (group ? text[group.start] : undefined)
  if (international) return digits >= MIN_PHONE_DIGITS && leading(groups[0]) !== '0'
  const parens = groups.filter((group) => group.parenthesised)
  const shape = groups.map((group) => group.size).join('-')
  const area = shape === '3-3-4' ? 0 : shape === '1-3-3-4' && leading(groups[0]) === '1' ? 1 : -1
  if (area !== -1) {
    // NANP: area code and exchange begin with 2-9; only the area code may be in parentheses.
    if (parens.length > 0 && (parens.length > 1 || parens[0] !== groups[area])) return false
    return (leading(groups[area]) ?? '0') >= '2' && (leading(groups[area + 1]) ?? '0') >= '2'
  }
  // Two-digit groups (`01 23 45 67 89`) read like byte dumps and dates too often.
  const trunk = leading(groups[0]) === '0' && parens.length === 0
  return (
    trunk &&
    groups.length >= 2 &&
    groups.length <= 3 &&
    digits >= MIN_PHONE_DIGITS &&
    digits <= 11 &&
    groups.every((group) => group.size >= 3)
  )
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
