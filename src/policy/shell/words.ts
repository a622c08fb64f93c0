/**
 * Shell words as bash reads them (bash(1) QUOTING and EXPANSION): quotes are removed from
 * literal text, expansions are kept as written, and every script an expansion runs
 * (`$(…)`, backticks, `<(…)`) is parsed so the classifier sees its commands.
 */
import { decodeAnsiC } from './ansi-c.ts'
import {
  type Heredoc,
  ShellSyntaxError,
  type Substitution,
  type Word,
  type WordPart,
} from './ast.ts'

/** What the word scanner needs from the parser that drives it. */
export interface Cursor {
  readonly src: string
  pos: number
  depth: number
  /** Parses a script up to its closing `)` (consumed), for `$(…)`, `<(…)` and `>(…)`. */
  parseSubstitution(): Substitution['script']
  /** Parses text that is itself a script (a backtick body), one level deeper. */
  parseNested(text: string): Substitution['script']
  /** Skips blanks, comments and newlines (reading any here-doc bodies due). */
  skipLinebreaks(): void
  enter(): void
  leave(): void
}

const NAME_START = /[A-Za-z_]/
const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y
const SPECIAL_PARAMETER = /[0-9@*#?$!-]/
const PLAIN_RUN = /[^\s;&|()<>\\'"$`]+/y
const DOUBLE_QUOTED_RUN = /[^"\\$`]+/y
const HEREDOC_RUN = /[^\\$`]+/y
const ASSIGNMENT_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*\+?=$/

/** Collects a word's parts, merging adjacent literal text of the same quoting. */
export class WordBuilder {
  parts: WordPart[] = []
  substitutions: Substitution[] = []
  evaluates: string[] = []

  literal(value: string, quoted: boolean): void {
    const last = this.parts.at(-1)
    if (last?.kind === 'literal' && last.quoted === quoted) last.value += value
    else this.parts.push({ kind: 'literal', value, quoted })
  }

  expansion(text: string): void {
    this.parts.push({ kind: 'expansion', text })
  }

  /** Takes the scripts and evaluation notes of a nested scan whose text is kept whole. */
  absorb(other: WordBuilder): void {
    this.substitutions.push(...other.substitutions)
    for (const note of other.evaluates) this.note(note)
  }

  note(reason: string): void {
    if (!this.evaluates.includes(reason)) this.evaluates.push(reason)
  }

  build(text: string): Word {
    return {
      text,
      parts: this.parts,
      substitutions: this.substitutions,
      evaluates: this.evaluates,
    }
  }
}

/**
 * Reads one word at the cursor, or returns null when a metacharacter is there. `regex` is
 * the right side of `[[ … =~ … ]]`, where parentheses and `|` belong to the pattern.
 */
export function readWord(c: Cursor, mode: 'normal' | 'regex' = 'normal'): Word | null {
  const start = c.pos
  const word = new WordBuilder()
  let parens = 0
  const src = c.src
  while (c.pos < src.length) {
    const ch = src[c.pos] as string
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === ';' || ch === '&' || ch === '|') {
      if (mode === 'regex' && parens > 0 && ch !== '\n') {
        word.literal(ch, false)
        c.pos++
        continue
      }
      break
    }
    if (ch === '<' || ch === '>') {
      if (src[c.pos + 1] === '(') {
        readProcessSubstitution(c, word)
        continue
      }
      if (mode === 'regex' && parens > 0) {
        word.literal(ch, false)
        c.pos++
        continue
      }
      break
    }
    if (ch === '(') {
      if (mode === 'regex') {
        parens++
        word.literal(ch, false)
        c.pos++
        continue
      }
      if (isAssignmentPrefix(word)) {
        readArrayValue(c, word)
        continue
      }
      break
    }
    if (ch === ')') {
      if (mode === 'regex' && parens > 0) {
        parens--
        word.literal(ch, false)
        c.pos++
        continue
      }
      break
    }
    switch (ch) {
      case '\\':
        readBackslash(c, word)
        break
      case "'": {
        const end = src.indexOf("'", c.pos + 1)
        if (end < 0) throw new ShellSyntaxError('unbalanced single quote')
        word.literal(src.slice(c.pos + 1, end), true)
        c.pos = end + 1
        break
      }
      case '"':
        readDoubleQuoted(c, word)
        break
      case '$':
        readDollar(c, word, false)
        break
      case '`':
        readBacktick(c, word, false)
        break
      default: {
        PLAIN_RUN.lastIndex = c.pos
        const run = PLAIN_RUN.exec(src)
        const text = run ? run[0] : ch
        word.literal(text, false)
        c.pos += text.length
      }
    }
  }
  if (c.pos === start) return null
  return word.build(src.slice(start, c.pos))
}

function isAssignmentPrefix(word: WordBuilder): boolean {
  const [first, ...rest] = word.parts
  return (
    rest.length === 0 &&
    first?.kind === 'literal' &&
    !first.quoted &&
    ASSIGNMENT_PREFIX.test(first.value)
  )
}

/** `name=(a b c)`: the elements are words (their substitutions run); kept as written. */
function readArrayValue(c: Cursor, word: WordBuilder): void {
  const start = c.pos
  c.pos++
  c.enter()
  for (;;) {
    c.skipLinebreaks()
    if (c.pos >= c.src.length) throw new ShellSyntaxError('unbalanced array assignment')
    if (c.src[c.pos] === ')') break
    const element = readWord(c)
    if (!element) throw new ShellSyntaxError(`unexpected "${c.src[c.pos]}" in an array`)
    word.substitutions.push(...element.substitutions)
    for (const note of element.evaluates) word.note(note)
  }
  c.pos++
  c.leave()
  word.expansion(c.src.slice(start, c.pos))
}

function readBackslash(c: Cursor, word: WordBuilder): void {
  const next = c.src[c.pos + 1]
  if (next === '\n') c.pos += 2
  else if (next === undefined) {
    word.literal('\\', false)
    c.pos++
  } else {
    // One UTF-16 unit: an escaped astral character's second half follows as plain text.
    word.literal(next, true)
    c.pos += 2
  }
}

function readDoubleQuoted(c: Cursor, word: WordBuilder): void {
  const src = c.src
  c.pos++
  word.literal('', true)
  for (;;) {
    const ch = src[c.pos]
    if (ch === undefined) throw new ShellSyntaxError('unbalanced double quote')
    if (ch === '"') {
      c.pos++
      return
    }
    if (ch === '\\') {
      const next = src[c.pos + 1]
      if (next === '\n') c.pos += 2
      else if (next === '$' || next === '`' || next === '"' || next === '\\') {
        word.literal(next, true)
        c.pos += 2
      } else {
        word.literal('\\', true)
        c.pos++
      }
    } else if (ch === '$') readDollar(c, word, true)
    else if (ch === '`') readBacktick(c, word, true)
    else {
      DOUBLE_QUOTED_RUN.lastIndex = c.pos
      const run = DOUBLE_QUOTED_RUN.exec(src)?.[0] ?? ch
      word.literal(run, true)
      c.pos += run.length
    }
  }
}

/** An unquoted here-doc body: expanded like double-quoted text, but `"` is plain. */
export function scanHeredocBody(c: Cursor): Heredoc {
  const word = new WordBuilder()
  const src = c.src
  while (c.pos < src.length) {
    const ch = src[c.pos]
    if (ch === '\\') {
      const next = src[c.pos + 1]
      c.pos += next === '$' || next === '`' || next === '\\' || next === '\n' ? 2 : 1
    } else if (ch === '$') readDollar(c, word, true)
    else if (ch === '`') readBacktick(c, word, true)
    else {
      HEREDOC_RUN.lastIndex = c.pos
      c.pos += HEREDOC_RUN.exec(src)?.[0].length ?? 1
    }
  }
  return { body: src, quoted: false, substitutions: word.substitutions, evaluates: word.evaluates }
}

function readDollar(c: Cursor, word: WordBuilder, inDouble: boolean): void {
  const src = c.src
  const start = c.pos
  const next = src[c.pos + 1]
  if (next === "'" && !inDouble) {
    let end = c.pos + 2
    while (end < src.length && src[end] !== "'") end += src[end] === '\\' ? 2 : 1
    if (end >= src.length) throw new ShellSyntaxError("unbalanced $'…' quote")
    word.literal(decodeAnsiC(src.slice(c.pos + 2, end)), true)
    c.pos = end + 1
    return
  }
  if (next === '"' && !inDouble) {
    // $"…" is translated by locale, otherwise a double-quoted string.
    c.pos++
    readDoubleQuoted(c, word)
    return
  }
  if (next === '(') {
    if (src[c.pos + 2] === '(') {
      // $(( … )) is arithmetic when its parentheses close as `))`; else `$( ( … ) )`.
      c.pos += 3
      const inner = new WordBuilder()
      if (scanArithmetic(c, inner)) {
        word.absorb(inner)
        word.expansion(src.slice(start, c.pos))
        return
      }
      c.pos = start
    }
    c.pos += 2
    word.substitutions.push({ kind: 'command', script: c.parseSubstitution() })
    word.expansion(src.slice(start, c.pos))
    return
  }
  if (next === '{') {
    readBraceParameter(c, word, inDouble)
    word.expansion(src.slice(start, c.pos))
    return
  }
  if (next === '[') throw new ShellSyntaxError('$[ … ] arithmetic is not supported')
  if (next !== undefined && NAME_START.test(next)) {
    NAME_RE.lastIndex = c.pos + 1
    c.pos += 1 + (NAME_RE.exec(src)?.[0].length ?? 0)
    word.expansion(src.slice(start, c.pos))
    return
  }
  if (next !== undefined && SPECIAL_PARAMETER.test(next)) {
    c.pos += 2
    word.expansion(src.slice(start, c.pos))
    return
  }
  word.literal('$', inDouble)
  c.pos++
}

/** `${…}`, with whatever nests in it: quotes, `${…}`, `$(…)`, backticks. */
function readBraceParameter(c: Cursor, word: WordBuilder, inDouble: boolean): void {
  const src = c.src
  c.pos += 2
  const bodyStart = c.pos
  const inner = new WordBuilder()
  c.enter()
  for (;;) {
    const ch = src[c.pos]
    if (ch === undefined) throw new ShellSyntaxError('unbalanced parameter expansion')
    if (ch === '}') break
    if (ch === '\\') c.pos += 2
    else if (ch === "'") {
      if (inDouble) skipQuotedInDoubleBrace(c, inner)
      else {
        const end = src.indexOf("'", c.pos + 1)
        if (end < 0) throw new ShellSyntaxError('unbalanced single quote')
        c.pos = end + 1
      }
    } else if (ch === '"') readDoubleQuoted(c, inner)
    else if (ch === '$') readDollar(c, inner, true)
    else if (ch === '`') readBacktick(c, inner, true)
    else c.pos++
  }
  word.absorb(inner)
  const body = src.slice(bodyStart, c.pos)
  c.pos++
  c.leave()
  // Indexed-array subscripts and indirection are arithmetic; @P expands $(…) in the value.
  if (/^!?[A-Za-z_][A-Za-z0-9_]*\[/.test(body)) word.note('array subscript')
  if (/^![A-Za-z_]/.test(body)) word.note('indirect expansion')
  if (/@P$/.test(body)) word.note('prompt expansion (@P)')
}

/**
 * In `"${x:-'…'}"` bash keeps the quotes and still expands `$(…)` between them, but a `}`
 * there does not close the expansion (bash 5.2: `"${x:-'}'}"` is `'}'`).
 */
function skipQuotedInDoubleBrace(c: Cursor, inner: WordBuilder): void {
  c.pos++
  for (;;) {
    const ch = c.src[c.pos]
    if (ch === undefined) throw new ShellSyntaxError('unbalanced single quote')
    if (ch === "'") {
      c.pos++
      return
    }
    if (ch === '\\') c.pos += 2
    else if (ch === '$') readDollar(c, inner, true)
    else if (ch === '`') readBacktick(c, inner, true)
    else c.pos++
  }
}

function readBacktick(c: Cursor, word: WordBuilder, inDouble: boolean): void {
  const src = c.src
  const start = c.pos
  c.pos++
  let inner = ''
  for (;;) {
    const ch = src[c.pos]
    if (ch === undefined) throw new ShellSyntaxError('unbalanced backtick')
    if (ch === '`') {
      c.pos++
      break
    }
    if (ch === '\\') {
      const next = src[c.pos + 1]
      if (next === '$' || next === '`' || next === '\\' || (inDouble && next === '"')) {
        inner += next
        c.pos += 2
        continue
      }
    }
    inner += ch
    c.pos++
  }
  word.substitutions.push({ kind: 'command', script: c.parseNested(inner) })
  word.expansion(src.slice(start, c.pos))
}

function readProcessSubstitution(c: Cursor, word: WordBuilder): void {
  const start = c.pos
  c.pos += 2
  word.substitutions.push({ kind: 'process', script: c.parseSubstitution() })
  word.expansion(c.src.slice(start, c.pos))
}

/**
 * Scans arithmetic after `((` or `$((` up to the matching `))`. Returns false when the
 * parentheses close with something other than `))` (bash then reads a subshell instead).
 * Variables are noted: their values are evaluated as expressions, and an expression like
 * `a[$(cmd)]` stored in one runs `cmd`.
 */
export function scanArithmetic(c: Cursor, word: WordBuilder): boolean {
  const src = c.src
  let depth = 0
  for (;;) {
    const ch = src[c.pos]
    if (ch === undefined) throw new ShellSyntaxError('unbalanced arithmetic')
    if (ch === '(') {
      depth++
      c.pos++
    } else if (ch === ')') {
      if (depth === 0) {
        if (src[c.pos + 1] !== ')') return false
        c.pos += 2
        return true
      }
      depth--
      c.pos++
    } else if (ch === '$') {
      if (src[c.pos + 1] !== '(') word.note('arithmetic on variables')
      readDollar(c, word, true)
    } else if (ch === '`') readBacktick(c, word, true)
    else if (ch === '"') readDoubleQuoted(c, word)
    else if (ch === "'") {
      const end = src.indexOf("'", c.pos + 1)
      if (end < 0) throw new ShellSyntaxError('unbalanced single quote')
      c.pos = end + 1
    } else if (ch === '\\') c.pos += 2
    else if (/[0-9]/.test(ch)) {
      c.pos++
      while (c.pos < src.length && /[0-9A-Za-z_#@]/.test(src[c.pos] as string)) c.pos++
    } else if (NAME_START.test(ch)) {
      word.note('arithmetic on variables')
      NAME_RE.lastIndex = c.pos
      c.pos += NAME_RE.exec(src)?.[0].length ?? 1
    } else c.pos++
  }
}
