/**
 * Path globs for HTTP rules. `*` matches within one segment, `?` one character of a
 * segment, and a whole `**` segment any number of segments (zero included, so
 * `/admin/**` covers `/admin` itself). Trailing slashes are ignored on both sides:
 * most origins route `/admin/` and `/admin` alike, and a rule must not be dodged by one.
 * Letter case is ignored unless asked: Express and IIS route `/ADMIN` to `/admin`, and a
 * block rule must hold there too (an allow rule then also admits paths differing only in
 * case, which a case-sensitive origin treats as other, usually missing, resources).
 */

const REGEX_SPECIAL = /[.+^${}()|[\]\\]/g

export function compilePathGlob(glob: string, options: { caseSensitive?: boolean } = {}): RegExp {
  const segments = stripTrailingSlash(glob).split('/').slice(1)
  let pattern = ''
  for (const segment of segments) {
    if (segment === '**') {
      // Zero or more whole segments.
      pattern += '(?:/[^/]*)*'
      continue
    }
    pattern += '/'
    for (const char of segment) {
      if (char === '*') pattern += '[^/]*'
      else if (char === '?') pattern += '[^/]'
      else pattern += char.replace(REGEX_SPECIAL, '\\$&')
    }
  }
  return new RegExp(`^${pattern || '/'}$`, options.caseSensitive ? '' : 'i')
}

export function matchesPath(pattern: RegExp, path: string): boolean {
  return pattern.test(stripTrailingSlash(path))
}

function stripTrailingSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') || '/' : path
}
