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
/** Digests are random but public: SRI (`sha512-…`) and labelled (`sha256:…`, `md5=…`) forms. */
const DIGEST_PREFIX = /^sha(?:1|224|256|384|512)-/
const DIGEST_LABEL_BEFORE = /(?:sha-?(?:1|224|256|384|512)|md5)\s{0,2}[:=]\s{0,2}["']?$/i
const DIGEST_LABEL_LOOKBEHIND_CHARS = 16
/** Stripe-style object ids (`pi_3MtwBwLkdIwHu7ix28a3tqPa`): random, but identifiers. */
const OBJECT_ID = /^[a-z]{2,8}_[A-Za-z0-9]{14,32}$/
/** A part of a path or a name that is a lowercase word (`assets`, `input`). */
const LOWERCASE_WORD = /^[a-z]{3,}$/
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
  const separators = compositeSeparators(run)
  if (separators) {
    // `/assets/urlMatch-Cgl6axSs`, `input-group-lxdd09p60cf27pe1`: each part on its own.
    for (const [offset, part] of splitAt(run, separators)) {
      const partStart = start + offset
      if (isSecret(text, partStart, partStart + part.length, part)) {
        found.push({ start: partStart, end: partStart + part.length, detector: 'secret' })
      }
    }
    return
  }
  if (!isSecret(text, start, end, run)) return
  // Base64 padding belongs to the secret.
  let secretEnd = end
  while (secretEnd - end < 2 && text.charCodeAt(secretEnd) === 61) secretEnd++
  found.push({ start, end: secretEnd, detector: 'secret' })
}

/**
 * Where a run is a name built of parts rather than one value: a path with a word segment
 * (`com/document/d/<id>/edit`) splits at `/`; a name with two word parts
 * (`input-group-<hash>`) splits at `- _ /`. Random base64url almost never has either.
 */
function compositeSeparators(run: string): string | undefined {
  if (run.includes('/') && splitAt(run, '/').some(([, part]) => LOWERCASE_WORD.test(part))) {
    return '/'
  }
  const words = splitAt(run, '-_/').filter(([, part]) => LOWERCASE_WORD.test(part))
  return words.length >= 2 ? '-_/' : undefined
}

/** The parts of `run` between any of `separators`, each with its offset. */
function splitAt(run: string, separators: string): [offset: number, part: string][] {
  const parts: [number, string][] = []
  let from = 0
  for (let i = 0; i <= run.length; i++) {
    if (i === run.length || separators.includes(run[i] as string)) {
      parts.push([from, run.slice(from, i)])
      from = i + 1
    }
  }
  return parts
}

function isSecret(text: string, start: number, end: number, value: string): boolean {
  const length = end - start
  if (length < MIN_KEYED_SECRET_CHARS || length > MAX_SECRET_CHARS) return false
  if (length >= MIN_SECRET_CHARS && looksRandom(text, start, end, true)) {
    if (OBJECT_ID.test(value) || DIGEST_PREFIX.test(value)) return false
    return (
      !DIGEST_LABEL_BEFORE.test(
        text.slice(Math.max(0, start - DIGEST_LABEL_LOOKBEHIND_CHARS), start)
      ) && !isEncodedText(value)
    )
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
    if (printableShare(decoded) >= MIN_PRINTABLE_SHARE) return !CREDENTIAL_PAIR.test(decoded)
  }
  return false
}

/** Random bytes are ~38% printable ASCII; text is nearly all. */
const MIN_PRINTABLE_SHARE = 0.9

function printableShare(decoded: string): number {
  let printable = 0
  for (let i = 0; i < decoded.length; i++) {
    const code = decoded.charCodeAt(i)
    if ((code >= 0x20 && code <= 0x7e) || code === 9 || code === 10 || code === 13) printable++
  }
  return printable / decoded.length
}
