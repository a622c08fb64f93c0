/**
 * Patterns for shell rules. `programs` are globs on the program's basename (`mkfs*`);
 * `options` are option names without dashes (`r`, `recursive`); `args` are globs on
 * operands, where `*` and `?` stay within a path segment and `**` spans `/` (`/etc/**`
 * covers `/etc` itself, as path globs do). Case matters, as it does to the shell.
 */

const REGEX_SPECIAL = /[.+^${}()|[\]\\]/g

export type ArgPattern = (operand: string) => boolean

/** `mkfs*` matches `mkfs` and `mkfs.ext4`. */
export function compileProgramPattern(glob: string): RegExp {
  return new RegExp(
    `^${glob.replace(REGEX_SPECIAL, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`
  )
}

/**
 * A program pattern only ever matches a program the classifier could name: not `''` (an
 * unparseable line, a bare assignment) and not one written with expansions (`$CMD`).
 */
export function isNamedProgram(program: string): boolean {
  return program !== '' && !/[$`'"\\*?[\]{}]/.test(program)
}

export function compileArgPattern(glob: string): ArgPattern {
  let pattern = ''
  for (let index = 0; index < glob.length; index++) {
    const ch = glob[index] as string
    if (glob.startsWith('/**', index) && (index + 3 === glob.length || glob[index + 3] === '/')) {
      pattern += '(?:/.*)?'
      index += 2
    } else if (glob.startsWith('**/', index) && index === 0) {
      pattern += '(?:.*/)?'
      index += 2
    } else if (glob.startsWith('**', index)) {
      pattern += '.*'
      index++
    } else if (ch === '*') pattern += '[^/]*'
    else if (ch === '?') pattern += '[^/]'
    else pattern += ch.replace(REGEX_SPECIAL, '\\$&')
  }
  const regex = new RegExp(`^${pattern}$`, 's')
  return (operand) => regex.test(operand)
}

/**
 * The forms of an operand a rule must consider: as written, and, for a path, with `//`,
 * `.` and `..` resolved and any trailing `/` dropped (`/etc/../` is `/`, `/tmp//x/.` is
 * `/tmp/x`). A tripwire fires on either; an allow rule must cover both.
 */
export function operandForms(operand: string): string[] {
  if (!operand.includes('/')) return [operand]
  const normalized = normalizeOperandPath(operand)
  return normalized === operand ? [operand] : [operand, normalized]
}

function normalizeOperandPath(path: string): string {
  const absolute = path.startsWith('/')
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.length && parts.at(-1) !== '..') parts.pop()
      else if (!absolute) parts.push(part)
    } else parts.push(part)
  }
  const joined = parts.join('/')
  return absolute ? `/${joined}` : joined || '.'
}

/**
 * Whether a command option matches a rule's option name. GNU getopt accepts any
 * unambiguous prefix of a long option (`--rec` is `--recursive`), so a tripwire also fires
 * on a prefix of two or more letters; an allow rule needs the name exactly.
 */
export function optionMatches(
  option: string,
  names: ReadonlySet<string>,
  tripwire: boolean
): boolean {
  if (names.has(option)) return true
  if (!tripwire || option.length < 2) return false
  for (const name of names) if (name.length > option.length && name.startsWith(option)) return true
  return false
}
