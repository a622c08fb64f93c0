/**
 * The generic `secret` detector: a run of token characters that reads as random, and is
 * not one of the random-looking things data is full of (paths with an id in them, object
 * ids, base64 of ordinary text). A key name right before a value (`api_key=`, `"client_
 * secret": "`) is evidence enough for hex and two-class values as well.
 */
import type { DetectorMatch } from '../types.ts'
import { looksRandom } from './entropy.ts'

/** Shortest run the generic `secret` detector considers (shorter is too often a word). */
export const MIN_SECRET_CHARS = 24
/** Shortest value taken as a secret when a key name assigns it. */
const MIN_KEYED_SECRET_CHARS = 20
/** Pure hex assigned to a key name: 128 bits or more. */
const MIN_KEYED_HEX_CHARS = 32
/** Longer runs are blobs (data URIs, embedded files), not credentials. */
export const MAX_SECRET_CHARS = 1024

/** A key name right before a value: `api_key=`, `"client_secret": "`, `password: '`. */
const KEY_NAME_BEFORE =
  /(?:secret|token|api[_-]?key|passw(?:or)?d|pwd|credential)["']?\s{0,3}[:=]\s{0,3}["']?$/i
/** How far back the key name is looked for. */
export const KEY_NAME_LOOKBEHIND_CHARS = 48

const HEX_ONLY = /^[0-9a-fA-F]+$/
/** Stripe-style object ids (`pi_3MtwBwLkdIwHu7ix28a3tqPa`): random, but identifiers. */
const OBJECT_ID = /^[a-z]{2,8}_[A-Za-z0-9]{14,32}$/
/** A path segment that is a lowercase word (`/assets/`, `com/document/`). */
const WORD_SEGMENT = /(?:^|\/)[a-z]{3,}(?:\/|$)/
/** `user:password`, as Basic auth encodes it: encoded text that is still a secret. */
const CREDENTIAL_PAIR = /^[\x21-\x39\x3b-\x7e]{1,64}:[\x21-\x7e]{1,128}$/

/** Pushes the secrets in the token run text[start, end) onto `found`. */
export function findSecretsInRun(
  text: string,
  start: number,
  end: number,
  found: DetectorMatch[]
): void {
  const run = text.slice(start, end)
  // A path with an id in it (`/assets/urlMatch-Cgl6axSs`): judge each segment on its own.
  if (run.includes('/') && WORD_SEGMENT.test(run)) {
    let segmentStart = start
    for (const segment of run.split('/')) {
      const segmentEnd = segmentStart + segment.length
      if (isSecret(text, segmentStart, segmentEnd, segment)) {
        found.push({ start: segmentStart, end: segmentEnd, detector: 'secret' })
      }
      segmentStart = segmentEnd + 1
    }
    return
  }
  if (!isSecret(text, start, end, run)) return
  // Base64 padding belongs to the secret.
  let secretEnd = end
  while (secretEnd - end < 2 && text.charCodeAt(secretEnd) === 61) secretEnd++
  found.push({ start, end: secretEnd, detector: 'secret' })
}

function isSecret(text: string, start: number, end: number, value: string): boolean {
  const length = end - start
  if (length < MIN_KEYED_SECRET_CHARS || length > MAX_SECRET_CHARS) return false
  if (length >= MIN_SECRET_CHARS && looksRandom(text, start, end, true)) {
    return !OBJECT_ID.test(value) && !isEncodedText(value)
  }
  const keyed = () =>
    KEY_NAME_BEFORE.test(text.slice(Math.max(0, start - KEY_NAME_LOOKBEHIND_CHARS), start))
  if (HEX_ONLY.test(value)) return length >= MIN_KEYED_HEX_CHARS && keyed()
  return looksRandom(text, start, end, false) && keyed()
}

/**
 * Base64 of ordinary text (an inline source map, an SVG, a sentence) is encoded content,
 * not a key: it decodes (at one of four alignments, as a run may start mid-way) to mostly
 * printable ASCII. A `user:password` pair stays a secret.
 */
function isEncodedText(run: string): boolean {
  const base64 = run.replaceAll('-', '+').replaceAll('_', '/')
  for (let skip = 0; skip < 4; skip++) {
    const aligned = base64.slice(skip, skip + Math.floor((base64.length - skip) / 4) * 4)
    let decoded: string
    try {
      decoded = atob(aligned)
    } catch {
      continue
    }
    const printable = decoded.match(/[\x20-\x7e\t\r\n]/g)?.length ?? 0
    if (printable >= 0.9 * decoded.length) return !CREDENTIAL_PAIR.test(decoded)
  }
  return false
}
