/**
 * The four ways a sensitive value is rewritten, bound to the masking key. Keyed strategies
 * use HMAC-SHA256 so equal values stay equal (joinable) without being reversible, and a
 * different key (another deployment) gives unrelated output.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { passesLuhn } from './detectors/validators.ts'
import type { DetectorName, MaskFunction, MaskStrategy } from './types.ts'

export const REDACTED = '[REDACTED]'
/** 16 base32 characters: 80 bits, collision-free for any table an agent will join. */
const TOKEN_CHARS = 16
/** RFC 2606 §2: `.invalid` never resolves, so a fake address can never reach anyone. */
const FAKE_EMAIL_DOMAIN = 'example.invalid'
const PARTIAL_VISIBLE = 4

const encoder = new TextEncoder()
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u

function isLetterOrDigit(char: string): boolean {
  const code = char.charCodeAt(0)
  if (code < 128) return (code >= 48 && code <= 57) || ((code | 32) >= 97 && (code | 32) <= 122)
  return LETTER_OR_DIGIT.test(char)
}

/**
 * The masking key from the deployment's secret: HKDF-SHA256 (RFC 5869), no salt, info
 * `gatehouse masking v1`, 32 bytes. A new info string rotates every token and fake.
 */
export function deriveMaskingKey(secret: Uint8Array): Uint8Array {
  return hkdf(sha256, secret, undefined, encoder.encode('gatehouse masking v1'), 32)
}

/**
 * The mask for `strategy` under `key`. `hint` names the detector that found the value, for
 * formats with rules of their own (a fake card passes Luhn); without it, a value with one
 * `@` is treated as an email.
 */
export function maskFunction(
  strategy: MaskStrategy,
  key: Uint8Array,
  hint?: DetectorName
): MaskFunction {
  switch (strategy) {
    case 'redact':
      return () => REDACTED
    case 'partial':
      return maskPartially
    case 'token': {
      // The key's pads are hashed once; each value then costs two compressions, not four.
      const keyed = hmac.create(sha256, key)
      return memoized(
        (value) =>
          `tok_${base32(keyed.clone().update(encoder.encode(value)).digest()).slice(0, TOKEN_CHARS)}`
      )
    }
    case 'fake':
      return memoized((value) => fake(key, value, hint))
  }
}

/** Distinct values remembered per mask: a column repeats its values (joins, enums). */
const MEMO_ENTRIES = 4096

/** Keyed masks are deterministic, so a repeated value reuses its mask (bounded memory). */
function memoized(mask: MaskFunction): MaskFunction {
  let memo = new Map<string, string>()
  return (value) => {
    let masked = memo.get(value)
    if (masked === undefined) {
      masked = mask(value)
      if (memo.size >= MEMO_ENTRIES) memo = new Map()
      memo.set(value, masked)
    }
    return masked
  }
}

/** `4111 1111 1111 1111` → `**** **** **** 1111`: letters and digits starred but the last four. */
function maskPartially(value: string): string {
  const chars = Array.from(value)
  let visible = 0
  let alnum = 0
  for (const char of chars) if (isLetterOrDigit(char)) alnum++
  // Four or fewer: showing four would show everything.
  const keep = alnum > PARTIAL_VISIBLE ? PARTIAL_VISIBLE : 0
  for (let i = chars.length - 1; i >= 0; i--) {
    const char = chars[i] as string
    if (!isLetterOrDigit(char)) continue
    if (visible < keep) visible++
    else chars[i] = '*'
  }
  return chars.join('')
}

/** RFC 4648 §6 base32, lowercase, no padding. */
function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += alphabet[(buffer >>> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  return bits > 0 ? out + alphabet[(buffer << (5 - bits)) & 31] : out
}

/** An endless keyed byte stream per value: HMAC(seed, counter) blocks, seed = HMAC(key, 'fake:' + value). */
function fakeBytes(key: Uint8Array, value: string): () => number {
  const seed = hmac(sha256, key, encoder.encode(`fake:${value}`))
  let block = seed
  let counter = 0
  let at = 0
  return () => {
    if (at === block.length) {
      block = hmac(
        sha256,
        seed,
        Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter)
      )
      counter++
      at = 0
    }
    return block[at++] as number
  }
}

/**
 * Same shape, other characters: digit for digit, lowercase for lowercase, uppercase for
 * uppercase (non-ASCII letters become ASCII letters of their case); the rest kept.
 */
function fake(key: Uint8Array, value: string, hint: DetectorName | undefined): string {
  const next = fakeBytes(key, value)
  const at = value.indexOf('@')
  const isEmail =
    (hint === undefined || hint === 'email') && at > 0 && at === value.lastIndexOf('@')
  if (isEmail) return `${fakeShape(value.slice(0, at), next)}@${FAKE_EMAIL_DOMAIN}`
  const faked = fakeShape(value, next)
  return hint === 'card' ? withLuhnCheckDigit(value, faked) : faked
}

function fakeShape(value: string, next: () => number): string {
  let out = ''
  for (const char of value) {
    if (char >= '0' && char <= '9') out += String.fromCharCode(48 + (next() % 10))
    else if (/\p{Lu}/u.test(char)) out += String.fromCharCode(65 + (next() % 26))
    else if (/\p{L}/u.test(char)) out += String.fromCharCode(97 + (next() % 26))
    else out += char
  }
  return out
}

/**
 * A fake card keeps the real one's first digit (its scheme, so the fake has the same
 * prefix class and length) and ends with a Luhn check digit.
 */
function withLuhnCheckDigit(real: string, faked: string): string {
  const positions: number[] = []
  for (let i = 0; i < faked.length; i++)
    if (faked[i] !== undefined && /\d/.test(faked[i] as string)) positions.push(i)
  const first = positions[0]
  const last = positions[positions.length - 1]
  if (first === undefined || last === undefined || first === last) return faked
  const chars = faked.split('')
  chars[first] = real[first] as string
  for (let check = 0; check <= 9; check++) {
    chars[last] = String(check)
    if (passesLuhn(positions.map((i) => chars[i]).join(''))) break
  }
  return chars.join('')
}
