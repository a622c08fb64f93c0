/**
 * Whether a run of token characters looks machine-generated (a key, a password hash, a
 * session secret) rather than a word, an identifier, a path or an id with a known shape.
 * Randomness shows in cheap measures: all three character classes are present, the class
 * changes often between neighbours, lowercase comes in short runs (words are long ones),
 * and the Shannon entropy of the characters is high.
 */
import { classAt, DIGIT, LOWER, TOKEN_CHAR, TOKEN_PUNCT, UPPER } from './char-class.ts'

/** Shortest run the generic `secret` detector considers (shorter is too often a word). */
export const MIN_SECRET_CHARS = 24
/** Longer runs are blobs (data URIs, embedded files), not credentials. */
export const MAX_SECRET_CHARS = 1024

/** Bits per character; random base64 of 24+ chars scores 4.1+, English words 2.5-3.3. */
const MIN_ENTROPY_BITS = 3.6
/** Random base64 changes class between ~64% of neighbours; camelCase ~20%. */
const MIN_CLASS_CHANGE_RATIO = 0.3
/** One `_ - + /` per this many characters at most: denser is words joined up. */
const CHARS_PER_SEPARATOR = 8
/** Random base64 has lowercase runs of ~1.7 letters on average; words in camelCase 4+. */
const MAX_MEAN_LOWERCASE_RUN = 3

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

/** Stripe-style object ids (`pi_3MtwBwLkdIwHu7ix28a3tqPa`): random, but identifiers. */
const OBJECT_ID = /^[a-z]{2,8}_[A-Za-z0-9]{14,32}$/
const HEX_ONLY = /^[0-9a-fA-F]+$/

/**
 * Whether text[start, end) (token characters only) is a high-entropy secret. Pure hex never
 * is here: 40- and 64-hex strings in data are overwhelmingly commit SHAs, checksums and ids;
 * hex credentials are caught by `isKeyedSecret` when a key name precedes them.
 */
export function looksRandom(text: string, start: number, end: number): boolean {
  const length = end - start
  if (length < MIN_SECRET_CHARS || length > MAX_SECRET_CHARS) return false
  let seen = 0
  let separators = 0
  let changes = 0
  let lowercase = 0
  let lowercaseRuns = 0
  let previous = 0
  for (let i = start; i < end; i++) {
    const cls = classAt(text, i) & TOKEN_CHAR
    seen |= cls
    if (cls === TOKEN_PUNCT) separators++
    if (cls === LOWER) {
      lowercase++
      if (previous !== LOWER) lowercaseRuns++
    }
    if (cls !== previous && i > start) changes++
    previous = cls
  }
  if ((seen & (DIGIT | UPPER | LOWER)) !== (DIGIT | UPPER | LOWER)) return false
  if (separators * CHARS_PER_SEPARATOR > length) return false
  if (changes < MIN_CLASS_CHANGE_RATIO * (length - 1)) return false
  // Words: `createUserAccountV2`, `Order-Confirmation-Template-V2`.
  if (lowercase > MAX_MEAN_LOWERCASE_RUN * lowercaseRuns) return false
  if (shannonEntropy(text, start, end) < MIN_ENTROPY_BITS) return false
  const run = text.slice(start, end)
  return !OBJECT_ID.test(run) && !isEncodedProse(run)
}

/** A key name right before a value: `api_key=`, `"client_secret": "`, `password: '`. */
const KEY_NAME_BEFORE =
  /(?:secret|token|api[_-]?key|passw(?:or)?d|pwd|credential|auth)["']?\s{0,3}[:=]\s{0,3}["']?$/i
/** How far back the key name is looked for. */
export const KEY_NAME_LOOKBEHIND_CHARS = 48

/**
 * Whether text[start, end) is a secret because a key name assigns it, for values the
 * context-free rules let pass: hex (32+ chars) and two-class random strings (20+).
 */
export function isKeyedSecret(text: string, start: number, end: number): boolean {
  const length = end - start
  if (length < 20 || length > MAX_SECRET_CHARS) return false
  const run = text.slice(start, end)
  if (HEX_ONLY.test(run) ? length < 32 : shannonEntropy(text, start, end) < 3) return false
  return KEY_NAME_BEFORE.test(text.slice(Math.max(0, start - KEY_NAME_LOOKBEHIND_CHARS), start))
}

/**
 * Base64 that decodes to plain text with spaces and no `:` is encoded prose, not a key
 * (`user:password` pairs, as in Basic auth, stay secrets).
 */
function isEncodedProse(run: string): boolean {
  let decoded: string
  try {
    decoded = atob(run.replaceAll('-', '+').replaceAll('_', '/'))
  } catch {
    return false
  }
  return /^[\x20-\x7e\t\r\n]+$/.test(decoded) && decoded.includes(' ') && !decoded.includes(':')
}
