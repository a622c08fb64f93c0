/**
 * Email addresses as they appear in data: a dot-atom local part (letters, digits and
 * `. _ % + -`, at most 64 characters) and a domain of at least two labels ending in an
 * alphabetic TLD. Found from each `@`, so text without one costs a single `indexOf`.
 */
import type { DetectorMatch } from '../types.ts'
import { ALNUM, classAt, TOKEN_PUNCT } from './char-class.ts'

/** RFC 5321 §4.5.3.1.1: local part at most 64 octets. */
const MAX_LOCAL_CHARS = 64
/** RFC 1035 §2.3.4: a name of at most 253 characters in text form. */
const MAX_DOMAIN_CHARS = 253
/** How far before its `@` an email can start: what a caller must keep as context. */
export const EMAIL_LOOKBEHIND_CHARS = MAX_LOCAL_CHARS + 1

const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/
/** File names with a scale suffix (`logo@2x.png`) and other file extensions that are no TLD. */
const FILE_EXTENSION =
  /\.(?:png|jpe?g|gif|svg|webp|avif|ico|css|m?js|jsx|tsx?|json|ya?ml|html?|txt|pdf|map|woff2?|ttf|lock|log)$/i

function isLocalChar(text: string, index: number): boolean {
  const cls = classAt(text, index)
  if ((cls & ALNUM) !== 0) return true
  const code = text.charCodeAt(index)
  // `.` `%` and the token punctuation except `/`.
  return code === 46 || code === 37 || ((cls & TOKEN_PUNCT) !== 0 && code !== 47)
}

function isDomainChar(text: string, index: number): boolean {
  const code = text.charCodeAt(index)
  return (classAt(text, index) & ALNUM) !== 0 || code === 45 || code === 46
}

/** Pushes every email address in `text` onto `found`. */
export function findEmails(text: string, found: DetectorMatch[]): void {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at
    while (start > 0 && at - start <= MAX_LOCAL_CHARS && isLocalChar(text, start - 1)) start--
    // Too long to be a local part: not an address (and not half of one).
    if (at - start > MAX_LOCAL_CHARS) continue
    while (text.charCodeAt(start) === 46) start++
    if (start === at || text.charCodeAt(at - 1) === 46) continue
    let end = at + 1
    while (end < text.length && end - at <= MAX_DOMAIN_CHARS && isDomainChar(text, end)) end++
    // A sentence's full stop or a trailing hyphen is not part of the domain.
    while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) {
      end--
    }
    const local = text.slice(start, at)
    const domain = text.slice(at + 1, end)
    if (local.includes('..') || !DOMAIN.test(domain) || FILE_EXTENSION.test(domain)) continue
    found.push({ start, end, detector: 'email' })
  }
}
