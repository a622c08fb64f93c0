/**
 * One canonical form of the proxied path, used both for policy matching and for the
 * request sent to the origin, so the rule that was checked is the path that is used.
 * Anything an origin could read two ways is refused: encoded `/` or `\`, control
 * characters, dot segments, and `;` path parameters (Tomcat and Spring drop them before
 * routing, so `/admin;x/users` would reach `/admin/users` past a rule on `/admin/**`).
 * Repeated slashes collapse; a trailing slash is kept.
 */
import { GatehouseError } from '../../errors.ts'

export type CanonicalPath = {
  /** Decoded, for policy globs: `/users/jane doe`. */
  decoded: string
  /** Re-encoded, for the origin: `/users/jane%20doe`. */
  encoded: string
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses.
const FORBIDDEN_DECODED = /[/\\\u0000-\u001f\u007f]/

export function canonicalizePath(rawPath: string): CanonicalPath {
  const rawSegments = rawPath.split('/').slice(1)
  const trailingSlash = rawSegments.length > 1 && rawSegments.at(-1) === ''
  const decoded: string[] = []
  for (const raw of rawSegments) {
    if (raw === '') continue
    let segment: string
    try {
      segment = decodeURIComponent(raw)
    } catch {
      throw ambiguous(`"${raw}" is not valid percent-encoding`)
    }
    if (FORBIDDEN_DECODED.test(segment)) {
      throw ambiguous(`"${raw}" decodes to a slash, backslash or control character`)
    }
    if (segment === '.' || segment === '..') throw ambiguous(`"${raw}" is a dot segment`)
    if (segment.includes(';')) throw ambiguous(`"${raw}" carries a ";" path parameter`)
    decoded.push(segment)
  }
  const tail = trailingSlash && decoded.length ? '/' : ''
  return {
    decoded: `/${decoded.join('/')}${tail}`,
    encoded: `/${decoded.map(encodeSegment).join('/')}${tail}`,
  }
}

/** RFC 3986 §3.3 pchar: sub-delims, ":" and "@" stay literal. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(2[146789ABC]|3[ABD]|40)/g, (literal) =>
    decodeURIComponent(literal)
  )
}

function ambiguous(detail: string): GatehouseError {
  return new GatehouseError(
    'request.ambiguous_path',
    'The request path is ambiguous (encoded slash, dot segment, ";" parameter or control character) and was refused.',
    { detail }
  )
}
