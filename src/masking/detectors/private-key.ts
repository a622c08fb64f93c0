/**
 * PEM private keys (RFC 7468 §10 and the OpenSSH, PKCS#1, SEC 1, PKCS#8 and PGP
 * variants), masked whole from `-----BEGIN … PRIVATE KEY-----` to the matching END line.
 * A BEGIN without its END (a truncated key) is no match here; its base64 lines are
 * still caught one by one by the `secret` detector.
 */
import type { DetectorMatch } from '../types.ts'

/** An 8192-bit RSA key in PKCS#1 PEM is ~6.4 K characters; encrypted headers add little. */
export const MAX_PRIVATE_KEY_CHARS = 12_288

/** `-----BEGIN PRIVATE KEY-----`, the shortest body and `-----END PRIVATE KEY-----`. */
export const MIN_PRIVATE_KEY_CHARS = 68

const BEGIN_MARKER = '-----BEGIN '
/**
 * Base64 lines, RFC 1421 / RFC 4880 headers (`Proc-Type: 4,ENCRYPTED`, `Version: GnuPG
 * v2.0.22 (GNU/Linux)`) and newlines, possibly escaped as `\n` in JSON: not code that
 * merely names both markers.
 */
const PEM_BODY = /^[A-Za-z0-9+/=\s\\:,.()-]{16,}$/
const PRIVATE_KEY_HEADER = /-----BEGIN ((?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?)-----/y

/** Pushes every complete PEM private key block in `text` onto `found`. */
export function findPrivateKeys(text: string, found: DetectorMatch[]): void {
  let begin = text.indexOf(BEGIN_MARKER)
  while (begin !== -1) {
    PRIVATE_KEY_HEADER.lastIndex = begin
    const header = PRIVATE_KEY_HEADER.exec(text)
    let next = begin + BEGIN_MARKER.length
    if (header) {
      const footer = `-----END ${header[1]}-----`
      const at = text.indexOf(footer, begin + header[0].length)
      const end = at + footer.length
      const body = at === -1 ? '' : text.slice(begin + header[0].length, at)
      if (at !== -1 && end - begin <= MAX_PRIVATE_KEY_CHARS && PEM_BODY.test(body)) {
        found.push({ start: begin, end, detector: 'private_key' })
        next = end
      }
    }
    begin = text.indexOf(BEGIN_MARKER, next)
  }
}
