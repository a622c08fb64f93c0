/**
 * A POSIX/bash command-line parser for policy, hand-written because no maintained shell
 * parser runs in a Worker: tree-sitter-bash and mvdan/sh need WebAssembly compiled at run
 * time (workerd forbids it) and shell-quote does not understand `$(…)` or backticks. It
 * follows bash(1) SHELL GRAMMAR closely enough to find every command a line can run, and
 * throws ShellSyntaxError for anything it cannot read with certainty (the classifier then
 * fails closed). Pure: no I/O, bounded input and nesting.
 */
import {
  type CompoundNode,
  type Heredoc,
  type Redirect,
  type ScriptNode,
  ShellSyntaxError,
  type Word,
} from './ast.ts'
import {
  parseArithmeticCommand,
  parseCase,
  parseConditional,
  parseDoGroup,
  parseFor,
  parseIf,
  type Stops,
  stopAt,
} from './compound.ts'
import { type Cursor, readWord, scanHeredocBody } from './words.ts'

/** Longer command lines are not parsed (fail closed): 64 KiB is far beyond a real one. */
export const MAX_SHELL_CHARS = 65_536
/** Deepest nesting of compound commands, substitutions and `${…}` followed. */
export const MAX_SHELL_NESTING = 32

const RESERVED =
  /(?:if|then|else|elif|fi|do|done|case|esac|while|until|for|select|in|function|time|coproc|\{|\}|!|\[\[|\]\])(?=[ \t\n;&|()<>]|$)/y
const REDIRECT_FD = /(?:[0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\})(?=[<>])/y
const REDIRECT_OP = /&>>|&>|<<<|<<-|<<|<>|<&|>>|>&|>\||<(?!\()|>(?!\()/y
const FUNCTION_NAME = /^[^\s$`'"\\]+$/
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/

type PendingHeredoc = { redirect: Redirect; delimiter: string; strip: boolean; quoted: boolean }

const NONE: Stops = {}

/** Parses a command line into its commands. Throws ShellSyntaxError. */
export function parseShell(src: string, depth = 0): ScriptNode[] {
  if (src.length > MAX_SHELL_CHARS)
    throw new ShellSyntaxError(`longer than ${MAX_SHELL_CHARS} characters`)
  const parser = new Parser(src, depth)
  const nodes = parser.parseList(NONE)
  if (parser.pos < src.length)
    throw new ShellSyntaxError(`unexpected "${src[parser.pos]}" at ${parser.pos}`)
  parser.readHeredocs()
  return nodes
}

/** The parser's state; compound.ts reads the compound commands with it. */
export class Parser implements Cursor {
  readonly src: string
  depth: number
  pos = 0
  pending: PendingHeredoc[] = []

  constructor(src: string, depth: number) {
    if (depth > MAX_SHELL_NESTING) throw new ShellSyntaxError('nested too deeply')
    this.src = src
    this.depth = depth
  }

  enter(): void {
    if (++this.depth > MAX_SHELL_NESTING) throw new ShellSyntaxError('nested too deeply')
  }

  leave(): void {
    this.depth--
  }

  parseSubstitution(): ScriptNode[] {
    this.enter()
    const pendingBefore = this.pending.length
    const nodes = this.parseList({ paren: true })
    if (this.src[this.pos] !== ')') throw new ShellSyntaxError('unbalanced $( … )')
    if (this.pending.length > pendingBefore)
      throw new ShellSyntaxError('here-document not closed inside $( … )')
    this.pos++
    this.leave()
    return nodes
  }

  parseNested(text: string): ScriptNode[] {
    return parseShell(text, this.depth + 1)
  }

  // --- tokens -------------------------------------------------------------------------

  /** Skips blanks, line continuations and a comment (up to, not including, its newline). */
  skipBlanks(): void {
    const src = this.src
    for (;;) {
      const ch = src[this.pos]
      if (ch === ' ' || ch === '\t') this.pos++
      else if (ch === '\\' && src[this.pos + 1] === '\n') this.pos += 2
      else if (ch === '#') {
        const end = src.indexOf('\n', this.pos)
        this.pos = end < 0 ? src.length : end
      } else return
    }
  }

  skipLinebreaks(): void {
    for (;;) {
      this.skipBlanks()
      if (this.src[this.pos] !== '\n') return
      this.pos++
      this.readHeredocs()
    }
  }

  /** The reserved word at the cursor (in command position), if there is one. */
  peekReserved(): string | null {
    RESERVED.lastIndex = this.pos
    return RESERVED.exec(this.src)?.[0] ?? null
  }

  expectReserved(word: string): void {
    this.skipLinebreaks()
    if (this.peekReserved() !== word) throw new ShellSyntaxError(`expected "${word}"`)
    this.pos += word.length
  }

  startsWith(text: string): boolean {
    return this.src.startsWith(text, this.pos)
  }

  requireWord(what: string): Word {
    this.skipBlanks()
    const word = readWord(this)
    if (!word) throw new ShellSyntaxError(`expected ${what}`)
    return word
  }

  // --- grammar ------------------------------------------------------------------------

  parseList(stops: Stops): ScriptNode[] {
    const nodes: ScriptNode[] = []
    for (;;) {
      this.skipLinebreaks()
      if (this.pos >= this.src.length) return nodes
      if (stops.paren && this.src[this.pos] === ')') return nodes
      if (stops.caseItem && (this.startsWith(';;') || this.startsWith(';&'))) return nodes
      const reserved = this.peekReserved()
      if (reserved && stops.words?.has(reserved)) return nodes
      this.parseAndOr(nodes)
      this.skipBlanks()
      const ch = this.src[this.pos]
      const next = this.src[this.pos + 1]
      if (ch === ';' && next !== ';' && next !== '&') this.pos++
      else if (ch === '&' && next !== '&' && next !== '>') this.pos++
      else if (ch !== '\n') return nodes
    }
  }

  parseAndOr(out: ScriptNode[]): void {
    this.parsePipeline(out)
    for (;;) {
      this.skipBlanks()
      if (!this.startsWith('&&') && !this.startsWith('||')) return
      this.pos += 2
      this.skipLinebreaks()
      this.parsePipeline(out)
    }
  }

  parsePipeline(out: ScriptNode[]): void {
    for (;;) {
      this.skipBlanks()
      const reserved = this.peekReserved()
      if (reserved === '!') this.pos++
      else if (reserved === 'time') {
        this.pos += 4
        this.skipBlanks()
        if (/^-p(?=[ \t\n;&|()<>]|$)/.test(this.src.slice(this.pos, this.pos + 3))) this.pos += 2
      } else break
    }
    this.parseCommand(out)
    for (;;) {
      this.skipBlanks()
      if (this.startsWith('|&')) this.pos += 2
      else if (this.src[this.pos] === '|' && this.src[this.pos + 1] !== '|') this.pos++
      else return
      this.skipLinebreaks()
      this.parseCommand(out)
    }
  }

  parseCommand(out: ScriptNode[]): void {
    this.skipBlanks()
    const start = this.pos
    const reserved = this.peekReserved()
    let keyword: string
    let body: ScriptNode[] = []
    let name: string | undefined
    const words: Word[] = []
    this.enter()
    switch (reserved) {
      case '{':
        keyword = '{'
        this.pos++
        body = this.parseList(stopAt('}'))
        this.expectReserved('}')
        break
      case 'if':
        keyword = 'if'
        body = parseIf(this)
        break
      case 'while':
      case 'until':
        keyword = reserved
        this.pos += reserved.length
        body = this.parseList(stopAt('do'))
        body.push(...parseDoGroup(this))
        break
      case 'for':
      case 'select':
        keyword = reserved
        body = parseFor(this, reserved, words)
        break
      case 'case':
        keyword = 'case'
        body = parseCase(this, words)
        break
      case 'function': {
        keyword = 'function'
        this.pos += 'function'.length
        name = this.requireWord('a function name').text
        this.skipBlanks()
        if (this.startsWith('(')) this.expectEmptyParens()
        body = this.parseFunctionBody()
        break
      }
      case '[[':
        out.push(parseConditional(this, start))
        this.leave()
        return
      case null:
        if (this.startsWith('((')) {
          const arithmetic = parseArithmeticCommand(this, start)
          if (arithmetic) {
            out.push(arithmetic)
            this.leave()
            return
          }
        }
        if (this.src[this.pos] === '(') {
          keyword = '('
          this.pos++
          body = this.parseList({ paren: true })
          if (this.src[this.pos] !== ')') throw new ShellSyntaxError('unbalanced (')
          this.pos++
          break
        }
        this.parseSimple(out)
        this.leave()
        return
      default:
        throw new ShellSyntaxError(`unexpected "${reserved}"`)
    }
    const redirects = this.parseRedirects()
    const node = compound(keyword, this.src.slice(start, this.pos), words, body, redirects)
    if (name !== undefined) node.name = name
    out.push(node)
    this.leave()
  }

  expectEmptyParens(): void {
    this.pos++
    this.skipBlanks()
    if (this.src[this.pos] !== ')') throw new ShellSyntaxError('expected "()"')
    this.pos++
  }

  /** A function body is one compound command; it is classified as if it ran. */
  parseFunctionBody(): ScriptNode[] {
    this.skipLinebreaks()
    const body: ScriptNode[] = []
    this.parseCommand(body)
    const first = body[0]
    if (body.length !== 1 || first?.type !== 'compound')
      throw new ShellSyntaxError('a function body must be a compound command')
    return body
  }

  parseSimple(out: ScriptNode[]): void {
    const start = this.pos
    let end = this.pos
    const assignments: Word[] = []
    const words: Word[] = []
    const redirects: Redirect[] = []
    for (;;) {
      this.skipBlanks()
      if (this.pos >= this.src.length) break
      const redirect = this.tryRedirect()
      if (redirect) {
        redirects.push(redirect)
        end = this.pos
        continue
      }
      const ch = this.src[this.pos]
      if (ch === ';' || ch === '&' || ch === '|' || ch === ')' || ch === '\n') break
      if (ch === '(') {
        const name = words[0]
        if (words.length === 1 && !assignments.length && name && FUNCTION_NAME.test(name.text)) {
          this.expectEmptyParens()
          const body = this.parseFunctionBody()
          const redirects = this.parseRedirects()
          const text = this.src.slice(start, this.pos)
          out.push({ ...compound('function', text, [], body, redirects), name: name.text })
          return
        }
        throw new ShellSyntaxError('unexpected "("')
      }
      const word = readWord(this)
      if (!word) throw new ShellSyntaxError(`unexpected "${ch}"`)
      if (words.length === 0 && isAssignment(word)) assignments.push(word)
      else words.push(word)
      end = this.pos
    }
    if (!assignments.length && !words.length && !redirects.length)
      throw new ShellSyntaxError(`expected a command at ${this.pos}`)
    out.push({
      type: 'simple',
      text: this.src.slice(start, end),
      assignments,
      words,
      redirects,
    })
  }

  parseRedirects(): Redirect[] {
    const redirects: Redirect[] = []
    for (;;) {
      this.skipBlanks()
      const redirect = this.tryRedirect()
      if (!redirect) return redirects
      redirects.push(redirect)
    }
  }

  tryRedirect(): Redirect | null {
    const start = this.pos
    REDIRECT_FD.lastIndex = this.pos
    const fd = REDIRECT_FD.exec(this.src)?.[0] ?? null
    if (fd) this.pos += fd.length
    REDIRECT_OP.lastIndex = this.pos
    const op = REDIRECT_OP.exec(this.src)?.[0]
    if (!op || (fd && op.startsWith('&'))) {
      this.pos = start
      return null
    }
    this.pos += op.length
    const target = this.requireWord(`a target after "${op}"`)
    const redirect: Redirect = { op, fd, target }
    if (op === '<<' || op === '<<-') {
      const quoted = target.parts.some((part) => part.kind === 'literal' && part.quoted)
      const delimiter = target.parts
        .map((part) => (part.kind === 'literal' ? part.value : part.text))
        .join('')
      this.pending.push({ redirect, delimiter, strip: op === '<<-', quoted })
    }
    return redirect
  }

  /** Reads the bodies of the here-docs opened on the line just ended. */
  readHeredocs(): void {
    const pending = this.pending
    this.pending = []
    for (const { redirect, delimiter, strip, quoted } of pending) {
      let body = ''
      for (;;) {
        if (this.pos >= this.src.length) break
        const newline = this.src.indexOf('\n', this.pos)
        const lineEnd = newline < 0 ? this.src.length : newline
        let line = this.src.slice(this.pos, lineEnd)
        if (strip) line = line.replace(/^\t+/, '')
        this.pos = newline < 0 ? this.src.length : newline + 1
        if (line === delimiter) break
        body += `${line}\n`
      }
      redirect.heredoc = quoted ? plainHeredoc(body) : this.expandHeredoc(body)
    }
  }

  expandHeredoc(body: string): Heredoc {
    const inner = new Parser(body, this.depth + 1)
    return scanHeredocBody(inner)
  }
}

function plainHeredoc(body: string): Heredoc {
  return { body, quoted: true, substitutions: [], evaluates: [] }
}

function compound(
  keyword: string,
  text: string,
  words: Word[],
  body: ScriptNode[],
  redirects: Redirect[]
): CompoundNode {
  return { type: 'compound', keyword, text, words, body, redirects }
}

function isAssignment(word: Word): boolean {
  const first = word.parts[0]
  return first?.kind === 'literal' && !first.quoted && ASSIGNMENT.test(first.value)
}
