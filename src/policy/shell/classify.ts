/**
 * Shell classification: a command line parsed as bash would (parse.ts), every simple
 * command it can run listed with its program, arguments and class, wrappers peeled, and
 * substitutions, subshells, loops and function bodies included. Pure and synchronous.
 * Nothing here throws for any input: what is not understood is one `unknown` command.
 */
import type { ShellClass, ShellCommand, ShellSimpleCommand } from '../../pipeline/types.ts'
import { type Arg, expandWord } from './argv.ts'
import {
  type Redirect,
  type ScriptNode,
  ShellSyntaxError,
  type SimpleNode,
  type Word,
} from './ast.ts'
import { riskier } from './classes.ts'
import {
  hasOption,
  type Invocation,
  invocationOf,
  type Run,
  UNSEEN_ARGUMENT,
  type Verdict,
} from './invocation.ts'
import { FILE_JUDGES, type Judge } from './judges-files.ts'
import { SYSTEM_JUDGES } from './judges-system.ts'
import { MAX_SHELL_CHARS, parseShell } from './parse.ts'
import {
  CODE_VARIABLES,
  PROGRAM_CLASSES,
  PROGRAM_PREFIXES,
  SYSTEM_DIRECTORIES,
} from './programs.ts'
import { WRAPPER_JUDGES } from './wrappers.ts'

/** Most simple commands one line may hold before it is refused whole. */
export const MAX_SHELL_COMMANDS = 1_000
/** Deepest chain of strings parsed as scripts (`sh -c "sh -c '…'"`). */
export const MAX_SHELL_REPARSES = 8
/** Most characters parsed for one line, re-parsed strings included. */
const MAX_PARSED_CHARS = 4 * MAX_SHELL_CHARS

const JUDGES: Readonly<Record<string, Judge>> = {
  ...FILE_JUDGES,
  ...SYSTEM_JUDGES,
  ...WRAPPER_JUDGES,
}

/** Output that changes nothing: the terminal, the bit bucket, another descriptor. */
const HARMLESS_SINKS = /^\/dev\/(null|stdout|stderr|tty|fd\/[0-9]+)$/
const OUTPUT_OPS = new Set(['>', '>>', '>|', '&>', '&>>', '<>', '>&'])
/** Data that spells a command substitution: code waiting for an evaluation context. */
const COMMAND_TEXT = /\$\(|`/
const UNLISTED = 'unlisted program'
/** Builtins that put standard input (data the caller chose) into variables. */
const READS_INTO_VARIABLES = new Set(['read', 'mapfile', 'readarray'])

/** Where a command runs: the wrappers around it and what its surroundings add. */
type Context = {
  via: readonly string[]
  /** The least class anything here gets (`privilege` under sudo). */
  floor: ShellClass
  risks: readonly string[]
  writes: boolean
  /** Why expanding its words may evaluate variable text (arithmetic, `${x@P}`, …). */
  evaluates: readonly string[]
  /** Here-doc or here-string on standard input, for the risk line. */
  stdin: string | null
  reparses: number
}

const ROOT: Context = {
  via: [],
  floor: 'read',
  risks: [],
  writes: false,
  evaluates: [],
  stdin: null,
  reparses: 0,
}

/**
 * Classifies a command line. Never throws: unparseable input, and input past the limits,
 * give one simple command of class `unknown` with the reason as its risk.
 */
export function classifyShell(text: string, via: ShellCommand['via']): ShellCommand {
  try {
    const walker = new Walker()
    walker.script(parseShell(text), ROOT)
    walker.finish()
    if (!walker.out.length) return failClosed(text, via, 'no command')
    return { kind: 'shell', text, commands: walker.out, via }
  } catch (error) {
    if (error instanceof ShellSyntaxError)
      return failClosed(text, via, `could not be parsed: ${error.message}`)
    // A stack exhausted by pathological input, or anything unforeseen: fail closed.
    return failClosed(text, via, `could not be classified: ${(error as Error).message}`)
  }
}

/** An interactive terminal (the SSH `shell` request): decided once, as a whole. */
export function interactiveShell(): ShellCommand {
  return {
    kind: 'shell',
    text: '',
    commands: [
      {
        text: '',
        program: '',
        args: [],
        options: [],
        operands: [],
        class: 'interactive',
        writes: true,
        via: [],
        risks: ['interactive shell: commands typed later are not classified one by one'],
      },
    ],
    via: 'shell',
  }
}

function failClosed(text: string, via: ShellCommand['via'], reason: string): ShellCommand {
  const command: ShellSimpleCommand = {
    text,
    program: '',
    args: [],
    options: [],
    operands: [],
    class: 'unknown',
    writes: true,
    via: [],
    risks: [reason],
  }
  return { kind: 'shell', text, commands: [command], via }
}

class Walker {
  out: ShellSimpleCommand[] = []
  /** Commands whose expansion evaluates variable text. */
  evaluators = new Set<ShellSimpleCommand>()
  /** Whether the line puts command text into data (see finish()). */
  tainted = false
  parsedChars = 0
  /** Functions defined so far: calling one runs its body, already listed where defined. */
  functions = new Set<string>()

  script(nodes: readonly ScriptNode[], context: Context): void {
    for (const node of nodes) {
      if (node.type === 'simple') this.simple(node, context)
      else {
        if (node.name !== undefined) this.functions.add(node.name)
        for (const word of node.words) this.substitutions(word, context)
        const inner = this.redirected(node.redirects, context)
        const evaluates = node.words.flatMap((word) => word.evaluates)
        this.script(node.body, { ...inner, evaluates: [...inner.evaluates, ...evaluates] })
      }
    }
  }

  simple(node: SimpleNode, outer: Context): void {
    const words = [...node.assignments, ...node.words, ...node.redirects.map((r) => r.target)]
    const risks: string[] = []
    for (const word of words) {
      for (const substitution of word.substitutions) {
        const risk = `${substitution.kind} substitution`
        if (!risks.includes(risk)) risks.push(risk)
      }
      this.substitutions(word, outer)
    }
    const context = this.redirected(node.redirects, outer)
    const evaluates = [...context.evaluates, ...words.flatMap((word) => word.evaluates)]
    let floor = context.floor
    for (const assignment of node.assignments) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(assignment.text)?.[0] ?? ''
      if (CODE_VARIABLES.test(name)) {
        floor = riskier(floor, 'code')
        risks.push(`sets ${name}`)
      }
      if (assignment.parts.some((part) => part.kind === 'literal' && COMMAND_TEXT.test(part.value)))
        this.tainted = true
    }
    const argv: Arg[] = []
    for (const word of node.words) {
      const expanded = expandWord(word)
      if (expanded.length !== 1 && !risks.includes('brace expansion')) risks.push('brace expansion')
      argv.push(...expanded)
    }
    const here = { ...context, floor, risks: [...context.risks, ...risks], evaluates }
    if (!argv.length) {
      // Only assignments and redirections: the shell itself sets variables or opens files.
      const cls = riskier(floor, context.writes ? 'write' : 'read')
      this.emit(node.text, invocationOf('', []), cls, here, here.risks)
      return
    }
    this.invoke(node.text, argv, here)
  }

  substitutions(word: Word, context: Context): void {
    for (const substitution of word.substitutions) this.script(substitution.script, context)
  }

  /** The context inside redirections: output to a file writes, /dev/tcp reaches out. */
  redirected(redirects: readonly Redirect[], context: Context): Context {
    if (!redirects.length) return context
    const risks = [...context.risks]
    let { writes, floor, stdin, evaluates } = context
    for (const redirect of redirects) {
      const [target] = expandWord(redirect.target)
      const path = target?.value ?? target?.text ?? ''
      const heredoc = redirect.heredoc
      if (heredoc) {
        stdin = 'here-doc'
        for (const substitution of heredoc.substitutions) this.script(substitution.script, context)
        evaluates = [...evaluates, ...heredoc.evaluates]
        if (heredoc.quoted && COMMAND_TEXT.test(heredoc.body)) this.tainted = true
        continue
      }
      if (redirect.op === '<<<') {
        stdin = 'here-string'
        if (COMMAND_TEXT.test(path)) this.tainted = true
        continue
      }
      if (/^\/dev\/(tcp|udp)\//.test(path)) {
        floor = riskier(floor, 'network')
        risks.push(`opens a network connection (${path})`)
        continue
      }
      const duplicates =
        (redirect.op === '>&' || redirect.op === '<&') && /^([0-9]+-?|-)$/.test(path)
      if (!OUTPUT_OPS.has(redirect.op) || duplicates || HARMLESS_SINKS.test(path)) continue
      writes = true
      const risk = `redirects to ${target?.text ?? path}`
      if (!risks.includes(risk)) risks.push(risk)
    }
    return { ...context, risks, writes, floor, stdin, evaluates }
  }

  /** Classifies one program run (after any wrappers around it) and what it runs. */
  invoke(text: string, argv: Arg[], context: Context): void {
    const [programArg, ...args] = argv as [Arg, ...Arg[]]
    const path = programArg.value
    if (path === null || programArg.glob || path === '') {
      const risks = [...context.risks, 'dynamic program name']
      this.emit(text, invocationOf(programArg.text, args), 'unknown', context, risks)
      return
    }
    const program = basename(path)
    const invocation = invocationOf(program, args)
    let verdict = judge(invocation)
    // A function defined on the line runs its body, listed where it was defined. One named
    // like a known program is still judged as that program, so it cannot hide `rm -rf /`.
    if (this.functions.has(path) && verdict.risks?.includes(UNLISTED))
      verdict = { class: 'read', risks: [`calls function ${path}`] }
    let cls = riskier(verdict.class, context.floor)
    const risks = [...context.risks, ...(verdict.risks ?? [])]
    if (path.includes('/')) {
      const directory = normalizePath(path.slice(0, path.lastIndexOf('/')) || '/')
      if (!SYSTEM_DIRECTORIES.has(directory)) {
        cls = riskier(cls, 'write')
        risks.push(`runs ${path}`)
      }
    }
    if (verdict.peeled) {
      // The wrapper is seen through: what it runs is listed, at least as risky as it.
      for (const run of verdict.runs ?? []) this.run(text, run, { ...context, floor: cls, risks })
      return
    }
    if (context.stdin) risks.push(`${context.stdin} into ${program}`)
    if (context.writes) cls = riskier(cls, 'write')
    const command = this.emit(text, invocation, cls, context, risks)
    if (verdict.evaluates) this.evaluators.add(command)
    const readsInput =
      READS_INTO_VARIABLES.has(program) || (program === 'printf' && hasOption(invocation, 'v'))
    if (readsInput || args.some((arg) => arg.value !== null && COMMAND_TEXT.test(arg.value)))
      this.tainted = true
    const inner: Context = { ...context, floor: cls, risks, stdin: null }
    for (const run of verdict.runs ?? []) this.run(text, run, inner)
  }

  run(text: string, run: Run, context: Context): void {
    const via = [...context.via, run.via]
    if ('argv' in run) {
      if (!run.argv.length) return
      const unseen: Arg = { value: UNSEEN_ARGUMENT, text: UNSEEN_ARGUMENT, glob: false }
      const argv = run.extraOperand ? [...run.argv, unseen] : run.argv
      this.invoke(text, argv, { ...context, via })
      return
    }
    if (context.reparses >= MAX_SHELL_REPARSES)
      throw new ShellSyntaxError('scripts nested in strings too deeply')
    this.parsedChars += run.script.length
    if (this.parsedChars > MAX_PARSED_CHARS) throw new ShellSyntaxError('too much nested script')
    const nodes = parseShell(run.script)
    this.script(nodes, { ...context, via, evaluates: [], reparses: context.reparses + 1 })
  }

  emit(
    text: string,
    invocation: Invocation,
    cls: ShellClass,
    context: Context,
    risks: readonly string[]
  ): ShellSimpleCommand {
    if (this.out.length >= MAX_SHELL_COMMANDS)
      throw new ShellSyntaxError(`more than ${MAX_SHELL_COMMANDS} commands`)
    const command: ShellSimpleCommand = {
      text,
      program: invocation.program,
      args: invocation.words,
      options: invocation.options,
      operands: invocation.operands,
      class: cls,
      writes: cls !== 'read' || context.writes,
      via: [...context.via],
      risks: [...new Set(risks)],
    }
    this.out.push(command)
    if (context.evaluates.length) this.evaluators.add(command)
    return command
  }

  /**
   * Arithmetic, `[[ -eq ]]`, `${!x}`, `${a[i]}` and `${x@P}` evaluate a variable's value as
   * an expression, and an expression such as `a[$(cmd)]` runs `cmd`. When the line also puts
   * command text into data (a quoted `$(…)`, a here-string, `read` from standard input), the
   * commands that evaluate variables may run it: they become `code`.
   */
  finish(): void {
    if (!this.tainted) return
    for (const command of this.evaluators) {
      command.class = riskier(command.class, 'code')
      command.writes = true
      command.risks.push('may evaluate command text stored in a variable')
    }
  }
}

function judge(invocation: Invocation): Verdict {
  const rule = Object.hasOwn(JUDGES, invocation.program) ? JUDGES[invocation.program] : undefined
  if (rule) return rule(invocation)
  const known = PROGRAM_CLASSES.get(invocation.program)
  if (known) return { class: known }
  for (const [pattern, cls] of PROGRAM_PREFIXES)
    if (pattern.test(invocation.program)) return { class: cls }
  return { class: 'write', risks: [UNLISTED] }
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  return trimmed.slice(trimmed.lastIndexOf('/') + 1)
}

/** Collapses `//`, `.` and `..` (a path the program name was written with). */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/')
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..' && parts.length && parts.at(-1) !== '..') parts.pop()
    else if (part === '..' && absolute) continue
    else parts.push(part)
  }
  const joined = parts.join('/')
  return absolute ? `/${joined}` : joined || '.'
}
