/**
 * IBANs (ISO 13616) in electronic form (`GB82WEST12345698765432`) or print form, in groups
 * of four separated by single spaces (`GB82 WEST 1234 5698 7654 32`). The country's
 * registered length and the mod-97 check decide; letters must be uppercase.
 */
import { ALNUM, classAt, DIGIT, isAlnumAt, UPPER } from './char-class.ts'
import { ibanLength, passesIbanChecksum } from './validators.ts'

/** Whether text[start] begins `CCdd` (country letters, check digits): worth a full parse. */
export function mayStartIban(text: string, start: number): boolean {
  return (
    classAt(text, start) === UPPER &&
    classAt(text, start + 1) === UPPER &&
    classAt(text, start + 2) === DIGIT &&
    classAt(text, start + 3) === DIGIT
  )
}

/** The end of a valid IBAN starting at `start` (a word start), or -1. */
export function ibanEndAt(text: string, start: number): number {
  const length = ibanLength(text.slice(start, start + 2))
  if (length === undefined) return -1
  let electronic = ''
  let i = start
  while (electronic.length < length) {
    const cls = classAt(text, i)
    if (cls === DIGIT || cls === UPPER) {
      electronic += text[i]
      i++
    } else if (
      text.charCodeAt(i) === 32 &&
      electronic.length % 4 === 0 &&
      (classAt(text, i + 1) & ALNUM) !== 0
    ) {
      i++
    } else {
      return -1
    }
  }
  if (isAlnumAt(text, i)) return -1
  return passesIbanChecksum(electronic) ? i : -1
}
