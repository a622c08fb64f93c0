/**
 * One program run with its arguments, as the classification rules read it, and what a
 * rule says back. Options follow the common getopt convention for every program (`-rf` is
 * `r` and `f`, `--force=yes` is `force`, `--` ends options); rules that know a program's
 * own syntax (options taking values, subcommands) read `args` themselves.
 */
import type { ShellClass } from '../../pipeline/types.ts'
import type { Arg } from './argv.ts'

export type Invocation = {
  /** Basename of the program. */
  program: string
  /** The words after the program. */
  args: Arg[]
  /** Each argument's value, or its text as written when it has expansions. */
  words: string[]
  options: string[]
  operands: string[]
}

/** What runs inside a command: an argv (sudo, xargs, find -exec) or a script (sh -c). */
export type Run =
  | { via: string; argv: Arg[]; extraOperand?: boolean }
  | { via: string; script: string }

export type Verdict = {
  class: ShellClass
  risks?: string[]
  /** Commands it runs: classified in their own right, each at least this verdict's class. */
  runs?: Run[]
  /** A wrapper that only runs `runs` (sudo, env, sh -c): listed through them, not itself. */
  peeled?: boolean
  /** Expanding it evaluates text as code (arithmetic, `-v` tests, integer variables). */
  evaluates?: string
}

/** `{}` stands for arguments the line does not show: xargs input, find's matches. */
export const UNSEEN_ARGUMENT = '{}'

const DYNAMIC_LONG_OPTION = /^--([A-Za-z0-9][A-Za-z0-9_-]*)=/

export function invocationOf(program: string, args: Arg[]): Invocation {
  const words = args.map(wordOf)
  const options: string[] = []
  const operands: string[] = []
  let ended = false
  const add = (name: string) => {
    if (!options.includes(name)) options.push(name)
  }
  for (const [index, word] of words.entries()) {
    // With expansions only `--name=$value` is known to be an option; the rest is unseen.
    const dynamic = args[index]?.value === null
    if (ended) operands.push(word)
    else if (dynamic) {
      const name = DYNAMIC_LONG_OPTION.exec(word)?.[1]
      if (name) add(name)
      else operands.push(word)
    } else if (word === '--') ended = true
    else if (word.startsWith('--') && word.length > 2) add(word.slice(2).split('=')[0] ?? '')
    else if (word.startsWith('-') && word.length > 1) for (const ch of word.slice(1)) add(ch)
    else operands.push(word)
  }
  return { program, args, words, options, operands }
}

export function wordOf(arg: Arg): string {
  return arg.value ?? arg.text
}

export function hasOption(invocation: Invocation, ...names: string[]): boolean {
  return names.some((name) => invocation.options.includes(name))
}

/**
 * The operands when some options take a value (`kubectl -n prod get pods`: `prod` is the
 * value of `-n`, not an operand). `short` lists the letters, `long` the names.
 */
export function operandsSkipping(
  invocation: Invocation,
  short: string,
  long: readonly string[] = []
): string[] {
  const operands: string[] = []
  const { words } = invocation
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string
    if (word === '--') {
      operands.push(...words.slice(index + 1))
      break
    }
    if (word.startsWith('--') && word.length > 2) {
      if (!word.includes('=') && long.includes(word.slice(2))) index++
    } else if (word.startsWith('-') && word.length > 1) {
      if (short.includes(word.at(-1) as string) && !takesAttachedValue(word, short)) index++
    } else operands.push(word)
  }
  return operands
}

/** `-n5`: the value is attached when a value-taking letter is not the cluster's last. */
function takesAttachedValue(word: string, short: string): boolean {
  for (let index = 1; index < word.length - 1; index++)
    if (short.includes(word[index] as string)) return true
  return false
}

/**
 * The values given to an option: `-o X`, `-oX`, `-vo X`, `--long X`, `--long=X`. Null for a
 * value with expansions.
 */
export function optionValues(
  args: Arg[],
  short: string,
  long?: string,
  /** Letters that take a value themselves: the rest of a cluster after one is its value. */
  valueLetters = ''
): (string | null)[] {
  const values: (string | null)[] = []
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as Arg
    const word = wordOf(arg)
    if (word === '--') break
    const next = args[index + 1]
    if (long && (word === `--${long}` || word.startsWith(`--${long}=`))) {
      if (word.includes('=')) values.push(arg.value === null ? null : word.slice(long.length + 3))
      else if (next) {
        values.push(next.value)
        index++
      }
    } else if (short && /^-[A-Za-z0-9]/.test(word) && !word.startsWith('--')) {
      let at = -1
      for (let letter = 1; letter < word.length; letter++) {
        if (word[letter] === short) at = letter
        if (at >= 0 || valueLetters.includes(word[letter] as string)) break
      }
      if (at < 0) continue
      const rest = word.slice(at + 1)
      if (rest) values.push(arg.value === null ? null : rest)
      else if (next) {
        values.push(next.value)
        index++
      }
    }
  }
  return values
}
