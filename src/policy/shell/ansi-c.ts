/**
 * `$'…'` strings (bash(1) QUOTING): backslash escapes decoded exactly as bash does, so a
 * program spelled `$'\\x72m'` is seen as `rm`.
 */
import { ShellSyntaxError } from './ast.ts'

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
}

/** Decodes the body of `$'…'` as bash does (a NUL ends the string, as in bash). */
export function decodeAnsiC(body: string): string {
  let out = ''
  for (let index = 0; index < body.length; index++) {
    const ch = body[index] as string
    if (ch !== '\\') {
      out += ch
      continue
    }
    const next = body[index + 1]
    if (next === undefined) {
      out += '\\'
      break
    }
    const simple = SIMPLE_ESCAPES[next]
    let code: number | undefined
    let used = 1
    if (simple !== undefined) {
      out += simple
      index++
      continue
    }
    if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(body.slice(index + 1))?.[0] ?? next
      code = Number.parseInt(digits, 8) & 0xff
      used = digits.length
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const max = next === 'x' ? 2 : next === 'u' ? 4 : 8
      const digits = new RegExp(`^[0-9A-Fa-f]{1,${max}}`).exec(body.slice(index + 2))?.[0]
      if (!digits) {
        out += `\\${next}`
        index++
        continue
      }
      code = Number.parseInt(digits, 16)
      used = 1 + digits.length
    } else if (next === 'c') {
      const control = body[index + 2]
      if (control === undefined) {
        out += '\\c'
        break
      }
      code = control.charCodeAt(0) & 0x1f
      used = 2
    } else {
      out += `\\${next}`
      index++
      continue
    }
    if (code === 0) break
    if (code > 0x10ffff) throw new ShellSyntaxError("invalid \\U escape in $'…'")
    out += String.fromCodePoint(code)
    index += used
  }
  return out
}
