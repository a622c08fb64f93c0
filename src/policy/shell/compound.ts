/**
 * Compound commands (bash(1) Compound Commands): `if`, loops, `case`, `[[ … ]]` and
 * `(( … ))`. Their bodies are flattened: every command in every branch may run.
 */
import { type ScriptNode, ShellSyntaxError, type SimpleNode, type Word } from './ast.ts'
import type { Parser } from './parse.ts'
import { readWord, scanArithmetic, WordBuilder } from './words.ts'

/** Where a list ends: at one of these reserved words, a `)`, or a case item's `;;`. */
export type Stops = { words?: ReadonlySet<string>; paren?: boolean; caseItem?: boolean }

export const stopAt = (...words: string[]): Stops => ({ words: new Set(words) })

export function parseIf(p: Parser): ScriptNode[] {
  p.pos += 2
  const body = p.parseList(stopAt('then'))
  p.expectReserved('then')
  body.push(...p.parseList(stopAt('elif', 'else', 'fi')))
  for (;;) {
    const reserved = p.peekReserved()
    if (reserved === 'elif') {
      p.pos += 4
      body.push(...p.parseList(stopAt('then')))
      p.expectReserved('then')
      body.push(...p.parseList(stopAt('elif', 'else', 'fi')))
    } else if (reserved === 'else') {
      p.pos += 4
      body.push(...p.parseList(stopAt('fi')))
      p.expectReserved('fi')
      return body
    } else {
      p.expectReserved('fi')
      return body
    }
  }
}

/** `do … done`, or bash's `{ … }` after a `for`. */
export function parseDoGroup(p: Parser): ScriptNode[] {
  p.skipLinebreaks()
  const reserved = p.peekReserved()
  if (reserved === '{') {
    p.pos++
    const body = p.parseList(stopAt('}'))
    p.expectReserved('}')
    return body
  }
  p.expectReserved('do')
  const body = p.parseList(stopAt('done'))
  p.expectReserved('done')
  return body
}

export function parseFor(p: Parser, keyword: string, words: Word[]): ScriptNode[] {
  p.pos += keyword.length
  p.skipBlanks()
  if (p.startsWith('((')) {
    const start = p.pos
    p.pos += 2
    const expression = new WordBuilder()
    if (!scanArithmetic(p, expression)) throw new ShellSyntaxError('unbalanced for (( … ))')
    words.push(expression.build(p.src.slice(start, p.pos)))
  } else {
    p.requireWord('a loop variable')
    p.skipLinebreaks()
    if (p.peekReserved() === 'in') {
      p.pos += 2
      for (;;) {
        p.skipBlanks()
        const ch = p.src[p.pos]
        if (ch === undefined || ch === ';' || ch === '\n') break
        const word = readWord(p)
        if (!word) throw new ShellSyntaxError(`unexpected "${ch}" in a for list`)
        words.push(word)
      }
    }
  }
  p.skipBlanks()
  if (p.src[p.pos] === ';') p.pos++
  return parseDoGroup(p)
}

export function parseCase(p: Parser, words: Word[]): ScriptNode[] {
  p.pos += 4
  words.push(p.requireWord('a case subject'))
  p.expectReserved('in')
  const body: ScriptNode[] = []
  for (;;) {
    p.skipLinebreaks()
    if (p.peekReserved() === 'esac') {
      p.pos += 4
      return body
    }
    if (p.src[p.pos] === '(') p.pos++
    for (;;) {
      words.push(p.requireWord('a case pattern'))
      p.skipBlanks()
      const ch = p.src[p.pos]
      p.pos++
      if (ch === ')') break
      if (ch !== '|') throw new ShellSyntaxError('expected ")" after a case pattern')
    }
    body.push(...p.parseList({ words: new Set(['esac']), caseItem: true }))
    p.skipBlanks()
    if (p.startsWith(';;&')) p.pos += 3
    else if (p.startsWith(';;') || p.startsWith(';&')) p.pos += 2
    else {
      p.skipLinebreaks()
      if (p.peekReserved() !== 'esac') throw new ShellSyntaxError('expected ";;" or "esac"')
    }
  }
}

/** `[[ … ]]`: its words are expanded (substitutions run); `&&`, `(`, `<` are operators. */
export function parseConditional(p: Parser, start: number): SimpleNode {
  p.pos += 2
  const words: Word[] = [literalWord('[[')]
  for (;;) {
    p.skipLinebreaks()
    if (p.pos >= p.src.length) throw new ShellSyntaxError('unbalanced [[')
    if (p.peekReserved() === ']]') {
      p.pos += 2
      break
    }
    const operator = /&&|\|\||[()!<>]/y
    operator.lastIndex = p.pos
    const op = operator.exec(p.src)?.[0]
    if (op) {
      p.pos += op.length
      words.push(literalWord(op))
      continue
    }
    const regex = words.at(-1)?.text === '=~'
    const word = readWord(p, regex ? 'regex' : 'normal')
    if (!word) throw new ShellSyntaxError(`unexpected "${p.src[p.pos]}" in [[ ]]`)
    words.push(word)
  }
  words.push(literalWord(']]'))
  const text = p.src.slice(start, p.pos)
  return { type: 'simple', text, assignments: [], words, redirects: p.parseRedirects() }
}

/** `(( … ))`, or null when bash would read it as nested subshells. */
export function parseArithmeticCommand(p: Parser, start: number): SimpleNode | null {
  p.pos += 2
  const expression = new WordBuilder()
  if (!scanArithmetic(p, expression)) {
    p.pos = start
    return null
  }
  const text = p.src.slice(start, p.pos)
  const inner = p.src.slice(start + 2, p.pos - 2).trim()
  expression.expansion(inner)
  const words = [literalWord('(('), expression.build(inner)]
  return { type: 'simple', text, assignments: [], words, redirects: p.parseRedirects() }
}

function literalWord(text: string): Word {
  return {
    text,
    parts: [{ kind: 'literal', value: text, quoted: false }],
    substitutions: [],
    evaluates: [],
  }
}
