/**
 * Commands that run other commands: `sudo rm` is `rm` run as root, `sh -c 'a; b'` is `a`
 * and `b`. Each is peeled to what it runs, which is classified in its own right and at
 * least as risky as the wrapper (`sudo` makes anything `privilege`). Builtins that turn
 * text into code (`eval`, `trap`, `alias`) have their text parsed when it is literal and
 * are `code` when it is not.
 */
import type { ShellClass } from '../../pipeline/types.ts'
import type { Arg } from './argv.ts'
import {
  hasOption,
  type Invocation,
  optionValues,
  type Run,
  type Verdict,
  wordOf,
} from './invocation.ts'
import type { Judge } from './judges-files.ts'
import { CODE_VARIABLES } from './programs.ts'

type WrapperSpec = {
  /** Class of the wrapper itself: a floor for what it runs (`read` adds nothing). */
  floor: ShellClass
  /** Class when nothing follows (`sudo -l`, `env` printing the environment). */
  alone: ShellClass
  /** Short options that take a value, and long ones (given without `=`). */
  short?: string
  long?: readonly string[]
  /** Operands before the command: timeout's duration, chroot's directory. */
  leading?: number
  /** `NAME=value` words before the command (env, sudo). */
  assignments?: boolean
  /** Options after which nothing runs (`command -v`). */
  describes?: readonly string[]
  risk?: string
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/

/** Peels a wrapper's options (and leading operands) to reach the command it runs. */
function peel(invocation: Invocation, spec: WrapperSpec): Verdict {
  const { args } = invocation
  const risks = spec.risk ? [spec.risk] : []
  let index = 0
  while (index < args.length) {
    const arg = args[index] as Arg
    const word = wordOf(arg)
    // An argument with expansions may be the command itself: stop, so it is seen as unknown.
    if (arg.value === null || !word.startsWith('-') || word === '-') break
    index++
    if (word === '--') break
    if (word.startsWith('--')) {
      if (!word.includes('=') && spec.long?.includes(word.slice(2))) index++
      continue
    }
    for (let letter = 1; letter < word.length; letter++) {
      if (!spec.short?.includes(word[letter] as string)) continue
      if (letter === word.length - 1) index++
      break
    }
  }
  index += spec.leading ?? 0
  let cls = spec.floor
  while (spec.assignments && index < args.length) {
    const name = ASSIGNMENT.exec(args[index]?.value ?? '')?.[1]
    if (!name) break
    if (CODE_VARIABLES.test(name)) {
      cls = 'code'
      risks.push(`sets ${name}`)
    }
    index++
  }
  if (spec.describes && hasOption(invocation, ...spec.describes)) return { class: 'read' }
  const inner = args.slice(index)
  if (!inner.length) return { class: spec.alone === 'read' ? cls : spec.alone, risks }
  return { class: cls, risks, peeled: true, runs: [{ via: invocation.program, argv: inner }] }
}

const wrapper =
  (spec: WrapperSpec): Judge =>
  (invocation) =>
    peel(invocation, spec)

const SUDO: WrapperSpec = {
  floor: 'privilege',
  alone: 'privilege',
  short: 'ugCDhprtTUR',
  long: ['user', 'group', 'close-from', 'chdir', 'host', 'prompt', 'role', 'type'],
  assignments: true,
  risk: 'runs as root (sudo)',
}

function sudo(invocation: Invocation): Verdict {
  if (hasOption(invocation, 'e', 'edit'))
    return { class: 'privilege', risks: ['edits files as root (sudo -e)'] }
  const verdict = peel(invocation, {
    ...SUDO,
    long: [...(SUDO.long ?? []), 'command-timeout', 'other-user', 'chroot'],
  })
  if (!verdict.peeled && hasOption(invocation, 's', 'shell', 'i', 'login'))
    verdict.risks?.push('opens a root shell')
  return verdict
}

/** su and runuser: `-c 'command'` is parsed; otherwise a shell as that user. */
function su(invocation: Invocation): Verdict {
  const label = `${invocation.program} -c`
  const risk = `runs as another user (${invocation.program})`
  const commands = optionValues(invocation.args, 'c', 'command', 'sgGw')
  if (invocation.program === 'runuser' && hasOption(invocation, 'u', 'user')) {
    return peel(invocation, {
      floor: 'privilege',
      alone: 'privilege',
      short: 'ugG',
      long: ['user', 'group', 'supp-group'],
      risk,
    })
  }
  if (!commands.length)
    return { class: 'privilege', risks: [risk, 'opens a shell as another user'] }
  if (commands.some((command) => command === null))
    return { class: 'unknown', risks: [risk, 'dynamic command string'] }
  const runs = commands.map((script): Run => ({ via: label, script: script ?? '' }))
  return { class: 'privilege', risks: [risk], peeled: true, runs }
}

/** Option letters of sh/bash/dash that take a value (`-o errexit`, `-O extglob`). */
const SHELL_VALUE_OPTIONS = /^[-+][oO]$/
const SHELL_LONG_VALUES = new Set(['--rcfile', '--init-file'])

/**
 * `sh -c 'literal'` runs the literal, parsed here; a dynamic string is unknown. Without
 * `-c` a shell runs a script file or standard input, neither of which the gateway sees.
 */
function shell(invocation: Invocation): Verdict {
  const { args, program } = invocation
  let command = false
  let interactive = false
  let index = 0
  for (; index < args.length; index++) {
    const arg = args[index] as Arg
    const word = wordOf(arg)
    if (arg.value === null) break
    if (word === '--' || word === '-') {
      index++
      break
    }
    if (SHELL_LONG_VALUES.has(word)) index++
    else if (word.startsWith('--')) continue
    else if (SHELL_VALUE_OPTIONS.test(word)) index++
    else if (/^[-+][A-Za-z]+$/.test(word)) {
      if (word.startsWith('-') && word.includes('c')) command = true
      if (word.startsWith('-') && word.includes('i')) interactive = true
    } else break
  }
  const operand = args[index]
  if (interactive) return { class: 'code', risks: [`interactive ${program}`] }
  if (!command) {
    if (operand) return { class: 'code', risks: [`runs a script with ${program}`] }
    return { class: 'code', risks: [`${program} reads commands from standard input`] }
  }
  if (!operand) return { class: 'read' }
  if (operand.value === null) return { class: 'unknown', risks: ['dynamic command string'] }
  return { class: 'read', peeled: true, runs: [{ via: `${program} -c`, script: operand.value }] }
}

/** eval: literal words are parsed as the script they join into; anything else is code. */
function evaluate(invocation: Invocation): Verdict {
  const { args } = invocation
  if (!args.length) return { class: 'read' }
  if (args.some((arg) => arg.value === null))
    return { class: 'code', risks: ['evaluates text the gateway cannot see'] }
  const script = args.map((arg) => arg.value).join(' ')
  return { class: 'read', peeled: true, runs: [{ via: 'eval', script }] }
}

/** trap 'command' SIGNAL: the command runs later, in this shell. */
function trap(invocation: Invocation): Verdict {
  const { operands } = invocation
  if (hasOption(invocation, 'l', 'p') || operands.length < 2) return { class: 'read' }
  const action = invocation.args.find((arg) => wordOf(arg) === operands[0])
  if (!action || action.value === null)
    return { class: 'code', risks: ['trap with a dynamic command'] }
  if (action.value === '' || action.value === '-') return { class: 'read' }
  return { class: 'read', runs: [{ via: 'trap', script: action.value }] }
}

/** alias name='command': the command runs wherever the alias is used later. */
function alias(invocation: Invocation): Verdict {
  const runs: Run[] = []
  for (const arg of invocation.args) {
    if (arg.value === null) return { class: 'code', risks: ['alias with a dynamic value'] }
    const equals = arg.value.indexOf('=')
    if (equals > 0) runs.push({ via: 'alias', script: arg.value.slice(equals + 1) })
  }
  return { class: 'read', runs }
}

/** xargs runs its command with arguments read from standard input, unseen here. */
function xargs(invocation: Invocation): Verdict {
  const verdict = peel(invocation, {
    floor: 'read',
    alone: 'read',
    short: 'ILnPsdEa',
    long: ['max-args', 'max-procs', 'max-chars', 'delimiter', 'arg-file', 'process-slot-var'],
    risk: 'arguments from standard input (xargs)',
  })
  const replaces = hasOption(invocation, 'I', 'i', 'replace')
  if (verdict.runs) verdict.runs = verdict.runs.map((run) => ({ ...run, extraOperand: !replaces }))
  return verdict
}

/** watch runs its arguments joined into a `sh -c` string (or exec'd as is with -x). */
function watch(invocation: Invocation): Verdict {
  const verdict = peel(invocation, {
    floor: 'read',
    alone: 'read',
    short: 'nq',
    long: ['interval', 'equexit'],
  })
  if (!verdict.runs || hasOption(invocation, 'x', 'exec')) return verdict
  const [run] = verdict.runs
  if (!run || !('argv' in run)) return verdict
  if (run.argv.some((arg) => arg.value === null))
    return { class: 'unknown', risks: ['dynamic command string'] }
  return {
    ...verdict,
    runs: [{ via: 'watch', script: run.argv.map((arg) => arg.value).join(' ') }],
  }
}

/** flock FILE COMMAND…, or flock FILE -c 'command'. */
function flock(invocation: Invocation): Verdict {
  const commands = optionValues(invocation.args, 'c', 'command', 'wEx')
  if (commands.some((command) => command === null))
    return { class: 'unknown', risks: ['dynamic command string'] }
  if (commands.length)
    return {
      class: 'read',
      peeled: true,
      runs: commands.map((script) => ({ via: 'flock -c', script: script ?? '' })),
    }
  return peel(invocation, {
    floor: 'read',
    alone: 'read',
    short: 'wE',
    long: ['timeout', 'conflict-exit-code'],
    leading: 1,
  })
}

const codeIf =
  (letters: readonly string[], risk: string): Judge =>
  (invocation) =>
    hasOption(invocation, ...letters) ? { class: 'code', risks: [risk] } : { class: 'read' }

/** Builtins and tests that evaluate arithmetic (where `a[$(cmd)]` in a value runs `cmd`). */
const ARITHMETIC_TESTS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-v'])

function conditional(invocation: Invocation): Verdict {
  const arithmetic = invocation.words.some((word) => ARITHMETIC_TESTS.has(word))
  return arithmetic ? { class: 'read', evaluates: 'arithmetic comparison' } : { class: 'read' }
}

function declare(invocation: Invocation): Verdict {
  return hasOption(invocation, 'i')
    ? { class: 'read', evaluates: 'integer variable' }
    : { class: 'read' }
}

export const WRAPPER_JUDGES: Readonly<Record<string, Judge>> = {
  sudo,
  doas: wrapper({
    floor: 'privilege',
    alone: 'privilege',
    short: 'uC',
    risk: 'runs as root (doas)',
  }),
  pkexec: wrapper({
    floor: 'privilege',
    alone: 'privilege',
    long: ['user'],
    risk: 'runs as root (pkexec)',
  }),
  su,
  runuser: su,
  chroot: wrapper({ floor: 'admin', alone: 'admin', long: ['userspec', 'groups'], leading: 1 }),
  env: (invocation) =>
    hasOption(invocation, 'S', 'split-string')
      ? { class: 'unknown', risks: ['env -S splits a string into a command'] }
      : peel(invocation, {
          floor: 'read',
          alone: 'read',
          short: 'uCP',
          long: ['unset', 'chdir'],
          assignments: true,
        }),
  nice: wrapper({ floor: 'read', alone: 'read', short: 'n', long: ['adjustment'] }),
  nohup: wrapper({ floor: 'read', alone: 'read' }),
  timeout: wrapper({
    floor: 'read',
    alone: 'read',
    short: 'sk',
    long: ['signal', 'kill-after'],
    leading: 1,
  }),
  time: wrapper({ floor: 'read', alone: 'read', short: 'fo', long: ['format', 'output'] }),
  command: wrapper({ floor: 'read', alone: 'read', describes: ['v', 'V'] }),
  exec: wrapper({ floor: 'read', alone: 'read', short: 'a' }),
  builtin: wrapper({ floor: 'read', alone: 'read' }),
  stdbuf: wrapper({
    floor: 'read',
    alone: 'read',
    short: 'ioe',
    long: ['input', 'output', 'error'],
  }),
  setsid: wrapper({ floor: 'read', alone: 'read' }),
  unbuffer: wrapper({ floor: 'read', alone: 'read' }),
  ionice: wrapper({
    floor: 'read',
    alone: 'process',
    short: 'cnpPu',
    long: ['class', 'classdata', 'pid', 'pgid', 'uid'],
  }),
  busybox: wrapper({ floor: 'read', alone: 'read' }),
  fakeroot: wrapper({ floor: 'read', alone: 'read', short: 'ls', long: ['lib', 'faked'] }),
  faketime: wrapper({ floor: 'read', alone: 'read', short: 'm', leading: 1 }),
  valgrind: wrapper({ floor: 'read', alone: 'read' }),
  numactl: wrapper({ floor: 'read', alone: 'read', short: 'CNmipP' }),
  taskset: (invocation) =>
    hasOption(invocation, 'p', 'pid')
      ? { class: 'process' }
      : peel(invocation, { floor: 'read', alone: 'read', leading: 1 }),
  chrt: (invocation) =>
    hasOption(invocation, 'p', 'pid')
      ? { class: 'process' }
      : peel(invocation, { floor: 'read', alone: 'read', short: 'T', leading: 1 }),
  flock: flock,
  firejail: wrapper({ floor: 'read', alone: 'code' }),
  proxychains: wrapper({ floor: 'network', alone: 'network', short: 'fq' }),
  proxychains4: wrapper({ floor: 'network', alone: 'network', short: 'fq' }),
  torsocks: wrapper({ floor: 'network', alone: 'network', short: 'uapP' }),
  nsenter: wrapper({
    floor: 'privilege',
    alone: 'privilege',
    short: 'tSGwr',
    long: ['target', 'setuid', 'setgid', 'wd', 'root'],
    risk: 'enters another namespace (nsenter)',
  }),
  unshare: wrapper({ floor: 'privilege', alone: 'privilege', short: 'S', long: ['setuid'] }),
  setpriv: wrapper({ floor: 'privilege', alone: 'privilege' }),
  cgexec: wrapper({ floor: 'admin', alone: 'admin', short: 'g' }),
  'systemd-run': wrapper({
    floor: 'admin',
    alone: 'admin',
    short: 'upEM',
    long: ['unit', 'property', 'setenv', 'uid', 'gid', 'nice', 'working-directory', 'machine'],
  }),
  xargs,
  watch,
  sh: shell,
  bash: shell,
  dash: shell,
  ash: shell,
  eval: evaluate,
  trap,
  alias,
  complete: codeIf(['C'], 'complete -C runs a command'),
  compgen: codeIf(['C'], 'compgen -C runs a command'),
  bind: codeIf(['x'], 'bind -x runs a command'),
  enable: codeIf(['f'], 'enable -f loads a shared object'),
  mapfile: codeIf(['C'], 'mapfile -C runs a callback'),
  hash: codeIf(['p'], 'hash -p makes a name run another program'),
  man: codeIf(['P', 'pager', 'H', 'html'], 'man runs the given pager or browser'),
  readarray: codeIf(['C'], 'readarray -C runs a callback'),
  let: () => ({ class: 'read', evaluates: 'let arithmetic' }),
  test: conditional,
  '[': conditional,
  '[[': conditional,
  declare,
  typeset: declare,
  local: declare,
}
