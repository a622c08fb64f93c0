/**
 * Where a number may start and end, shared by the card, SSN and phone detectors: a number
 * glued to a word or to more digits (`ORD-2024-000123`, `v1.2.3`, `12.50`) is not one.
 */
import { ALNUM, classAt, isAlnumAt, isDigitAt, NUMBER_SEPARATOR } from './char-class.ts'

/** Character codes the number detectors compare against. */
export const PLUS = 43
export const HYPHEN = 45
export const DOT = 46
export const SPACE = 32
export const OPEN_PAREN = 40
export const CLOSE_PAREN = 41

/**
 * Whether a number may start at `start`: not glued to a word or another number
 * (`ORD-2024-000123`, `v1.2.3`, `#100045678`, `+`-prefixed, `_`-joined).
 */
export function standsAlone(text: string, start: number): boolean {
  const before = text.charCodeAt(start - 1)
  if (Number.isNaN(before)) return true
  if ((classAt(text, start - 1) & ALNUM) !== 0) return false
  if (before === HYPHEN || before === DOT) return !isAlnumAt(text, start - 2)
  return before !== PLUS && before !== 95 /* _ */ && before !== 35 /* # */ && before !== 47 /* / */
}

/** Whether a number may end at `end`: no letter, decimal part or `-`/`/`-joined digits next. */
export function endsCleanly(text: string, end: number): boolean {
  if (isAlnumAt(text, end)) return false
  const after = text.charCodeAt(end)
  const joined = after === HYPHEN || after === DOT || after === 44 /* , */ || after === 47 /* / */
  return !(joined && isDigitAt(text, end + 1))
}

/** Whether `text[index]` is one of ` - . ( )`. */
export function isNumberSeparatorAt(text: string, index: number): boolean {
  return (classAt(text, index) & NUMBER_SEPARATOR) !== 0
}

/** The end of the digit run at `start`, reading at most `limit` + 1 digits. */
export function digitRunEnd(text: string, start: number, limit: number): number {
  let end = start
  while (end - start <= limit && isDigitAt(text, end)) end++
  return end
}
