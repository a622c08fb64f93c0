/**
 * Words as the command receives them: brace expansion applied (`{rm,-rf,/}` is three
 * words, bash(1) Brace Expansion), quotes removed, and what the gateway cannot know
 * (parameter and command expansions, globs) marked so it is never taken for plain text.
 */
import { ShellSyntaxError, type Word } from './ast.ts'

/** One argument: its value when it is plain text, else null and the text as written. */
export type Arg = {
  value: string | null
  text: string
  /** Unquoted `*`, `?` or `[`: the shell may replace it with file names. */
  glob: boolean
}

/** Most words one word may become by brace expansion before the line is refused. */
export const MAX_BRACE_WORDS = 256
const MAX_BRACE_DEPTH = 16

/** A character (or a whole expansion) with whether quoting made it plain. */
type Unit = { text: string; plain: boolean; dynamic: boolean }

/** The arguments a word becomes. */
export function expandWord(word: Word): Arg[] {
  const units: Unit[] = []
  let braces = false
  for (const part of word.parts) {
    if (part.kind === 'expansion') units.push({ text: part.text, plain: true, dynamic: true })
    // An empty quoted string still makes a word (`''{a,}` is `a` and an empty argument).
    else if (part.value === '') units.push({ text: '', plain: true, dynamic: false })
    else {
      for (const ch of part.value) {
        units.push({ text: ch, plain: part.quoted, dynamic: false })
        if (ch === '{' && !part.quoted) braces = true
      }
    }
  }
  // An unquoted leading `~` is tilde expansion: a home directory the line does not show.
  const first = units[0]
  if (first && !first.plain && first.text === '~') first.dynamic = true
  const expanded = braces ? expandBraces(units, 0, { count: 0 }) : [units]
  if (expanded.length === 1 && expanded[0] === units) {
    const dynamic = units.some((unit) => unit.dynamic)
    return [
      {
        value: dynamic ? null : units.map((unit) => unit.text).join(''),
        text: dynamic ? word.text : units.map((unit) => unit.text).join(''),
        glob: hasGlob(units),
      },
    ]
  }
  // Words brace expansion leaves empty are dropped, as bash drops them (`{a,}` is just `a`).
  return expanded
    .filter((result) => result.length > 0)
    .map((result) => {
      const text = result.map((unit) => unit.text).join('')
      return {
        value: result.some((unit) => unit.dynamic) ? null : text,
        text,
        glob: hasGlob(result),
      }
    })
}

/** Unquoted `*` or `?`, or an unquoted `[` closed by a `]` later (a lone `[` is literal). */
function hasGlob(units: readonly Unit[]): boolean {
  let open = false
  for (const unit of units) {
    if (unit.plain) continue
    if (unit.text === '*' || unit.text === '?' || (open && unit.text === ']')) return true
    if (unit.text === '[') open = true
  }
  return false
}

/**
 * The first `{…}` with a top-level comma or a sequence expression is expanded, its
 * alternatives (and the rest of the word) recursively, left to right as bash does.
 */
function expandBraces(units: Unit[], depth: number, budget: { count: number }): Unit[][] {
  if (depth > MAX_BRACE_DEPTH) throw new ShellSyntaxError('brace expansion nested too deeply')
  for (let open = 0; open < units.length; open++) {
    if (!isBare(units[open], '{')) continue
    let level = 0
    let close = -1
    const commas: number[] = []
    for (let index = open + 1; index < units.length; index++) {
      const unit = units[index]
      if (isBare(unit, '{')) level++
      else if (isBare(unit, '}')) {
        if (level === 0) {
          close = index
          break
        }
        level--
      } else if (isBare(unit, ',') && level === 0) commas.push(index)
    }
    if (close < 0) continue
    let alternatives: Unit[][]
    if (commas.length) {
      alternatives = []
      let from = open + 1
      for (const comma of [...commas, close]) {
        alternatives.push(units.slice(from, comma))
        from = comma + 1
      }
    } else {
      const sequence = sequenceOf(units.slice(open + 1, close))
      if (!sequence) continue
      alternatives = sequence.map((text) => [...text].map((ch) => bare(ch)))
    }
    const prefix = units.slice(0, open)
    const suffix = units.slice(close + 1)
    const results: Unit[][] = []
    for (const alternative of alternatives) {
      for (const rest of expandBraces([...alternative, ...suffix], depth + 1, budget)) {
        if (++budget.count > MAX_BRACE_WORDS)
          throw new ShellSyntaxError(`brace expansion makes more than ${MAX_BRACE_WORDS} words`)
        results.push([...prefix, ...rest])
      }
    }
    return results
  }
  return [units]
}

function isBare(unit: Unit | undefined, ch: string): boolean {
  return unit !== undefined && !unit.plain && !unit.dynamic && unit.text === ch
}

function bare(ch: string): Unit {
  return { text: ch, plain: true, dynamic: false }
}

/** `{1..5}`, `{05..10..5}`, `{a..e}`: the words, or null when it is not a sequence. */
function sequenceOf(units: Unit[]): string[] | null {
  if (units.some((unit) => unit.dynamic)) return null
  const text = units.map((unit) => unit.text).join('')
  const numeric = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$/.exec(text)
  if (numeric) {
    const [, first = '', last = '', step = '1'] = numeric
    const from = Number(first)
    const to = Number(last)
    const increment = Math.abs(Number(step)) || 1
    if (Math.abs(to - from) / increment >= MAX_BRACE_WORDS)
      throw new ShellSyntaxError(`brace expansion makes more than ${MAX_BRACE_WORDS} words`)
    const width =
      /^-?0\d/.test(first) || /^-?0\d/.test(last) ? Math.max(first.length, last.length) : 0
    const words: string[] = []
    for (let n = from; from <= to ? n <= to : n >= to; n += from <= to ? increment : -increment) {
      const digits = String(Math.abs(n)).padStart(width - (n < 0 ? 1 : 0), '0')
      words.push(n < 0 ? `-${digits}` : digits)
    }
    return words
  }
  const letters = /^([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?$/.exec(text)
  if (letters) {
    const from = (letters[1] as string).charCodeAt(0)
    const to = (letters[2] as string).charCodeAt(0)
    const increment = Math.abs(Number(letters[3] ?? '1')) || 1
    const words: string[] = []
    for (let n = from; from <= to ? n <= to : n >= to; n += from <= to ? increment : -increment)
      words.push(String.fromCharCode(n))
    return words
  }
  return null
}
