/**
 * Phone numbers: international with `+`, North American (NANP) and national with a trunk 0.
 * Shapes, not digit counts, decide: bare runs of digits are ids and amounts.
 */
import { isDigitAt } from './char-class.ts'
import {
  CLOSE_PAREN,
  DOT,
  digitRunEnd,
  endsCleanly,
  HYPHEN,
  isNumberSeparatorAt,
  OPEN_PAREN,
  PLUS,
  SPACE,
} from './digit-bounds.ts'

export const MIN_PHONE_DIGITS = 10
/** E.164 §6.1: at most 15 digits including the country code. */
const MAX_PHONE_DIGITS = 15

/**
 * A phone number from `start` (a `+`, `(` or digit): international (`+44 20 7946 0018`,
 * `+12025550143`, 10-15 digits), North American (`(202) 555-0143`, `202-555-0143`,
 * `1 202 555 0143`; area code and exchange begin with 2-9), or national with a trunk 0
 * (`020 7946 0018`, 10-11 digits in 2-3 groups of 3+). Bare digit runs without `+` never are.
 * Like cards, a number followed by a space and more digits still counts.
 */
export function phoneEndAt(text: string, start: number): number {
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

/** `separator`: the character before the group (`+` or `(` for the first one, or none). */
type PhoneGroup = {
  start: number
  size: number
  end: number
  parenthesised: boolean
  separator: string
}

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
    const separator = i > at && !parenthesised ? (text[i - 1] as string) : ''
    groups.push({ start: groupStart, size, end: groupEnd, parenthesised, separator })
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
    // One separator throughout (`202-555-0143`); `252.227-7013` is a clause number.
    if (parens.length === 0 && new Set(groups.slice(1).map((group) => group.separator)).size > 1) {
      return false
    }
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
