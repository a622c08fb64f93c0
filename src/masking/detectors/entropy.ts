/**
 * Whether characters look machine-generated (a key, a session secret) rather than a word,
 * an identifier or a digest. Randomness shows in cheap measures: the class changes often
 * between neighbours, lowercase comes in short runs (words are long ones), `_ - + /` are
 * sparse, and the Shannon entropy of the characters is high.
 */
import { classAt, DIGIT, LOWER, TOKEN_CHAR, TOKEN_PUNCT, UPPER } from './char-class.ts'

/** Bits per character; random base64 of 24+ chars scores 4.1+, English words 2.5-3.3. */
const MIN_ENTROPY_BITS = 3.6
/** What a value assigned to a key name needs: less, as the name already says "secret". */
const MIN_KEYED_ENTROPY_BITS = 3
/** Random base64 changes class between ~64% of neighbours; camelCase ~20%. */
const MIN_CLASS_CHANGE_RATIO = 0.3
/** One `_ - + /` per this many characters at most: denser is words joined up. */
const CHARS_PER_SEPARATOR = 8
/** Random base64 has same-case letter runs of ~1.7 on average; words 4+ (`createUser`, `HEAD`). */
const MAX_MEAN_LETTER_RUN = 3
/** Random base64 is ~34% hex digits; past this share a string is a digest with a suffix. */
const MAX_HEX_SHARE = 0.85

const counts = new Uint16Array(128)

/** Shannon entropy, in bits per character, of the ASCII characters in text[start, end). */
export function shannonEntropy(text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    if (code < 128) counts[code] = (counts[code] as number) + 1
  }
  const length = end - start
  let bits = 0
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    const count = code < 128 ? (counts[code] as number) : 0
    if (count === 0) continue
    const p = count / length
    bits -= p * Math.log2(p)
    counts[code] = 0
  }
  return bits
}

/**
 * Whether text[start, end) (token characters only) reads as random. `strict` (no key name
 * before it) also wants all three of lowercase, uppercase and digits, little hex, and more
 * entropy; that keeps out hex digests (commit SHAs, checksums), UUIDs and ALL_CAPS names.
 */
export function looksRandom(text: string, start: number, end: number, strict: boolean): boolean {
  const length = end - start
  let seen = 0
  let separators = 0
  let changes = 0
  let lowercase = 0
  let lowercaseRuns = 0
  let uppercase = 0
  let uppercaseRuns = 0
  let hex = 0
  let previous = 0
  for (let i = start; i < end; i++) {
    const cls = classAt(text, i) & TOKEN_CHAR
    seen |= cls
    if (cls === TOKEN_PUNCT) separators++
    if (cls === LOWER) {
      lowercase++
      if (previous !== LOWER) lowercaseRuns++
    } else if (cls === UPPER) {
      uppercase++
      if (previous !== UPPER) uppercaseRuns++
    }
    const lower = text.charCodeAt(i) | 32
    if (cls === DIGIT || (cls !== TOKEN_PUNCT && lower >= 97 && lower <= 102)) hex++
    if (cls !== previous && i > start) changes++
    previous = cls
  }
  if ((seen & DIGIT) === 0 || (seen & (UPPER | LOWER)) === 0) return false
  if (separators * CHARS_PER_SEPARATOR > length) return false
  if (changes < MIN_CLASS_CHANGE_RATIO * (length - 1)) return false
  // Words: `createUserAccountV2`, `Order-Confirmation-Template-V2`, `NODE_SEA_FUSE_3f…`.
  if (lowercase > MAX_MEAN_LETTER_RUN * lowercaseRuns) return false
  if (uppercase > MAX_MEAN_LETTER_RUN * uppercaseRuns) return false
  if (!strict) return shannonEntropy(text, start, end) >= MIN_KEYED_ENTROPY_BITS
  const allClasses = (seen & (DIGIT | UPPER | LOWER)) === (DIGIT | UPPER | LOWER)
  return (
    allClasses &&
    hex <= MAX_HEX_SHARE * length &&
    shannonEntropy(text, start, end) >= MIN_ENTROPY_BITS
  )
}
