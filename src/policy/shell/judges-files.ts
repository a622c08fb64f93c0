/**
 * Programs whose effect on files depends on their arguments: `find -delete`, `sed -i`,
 * `sort -o`, `tar x`, `dd of=`, git's subcommands. Each rule reads the program's own
 * syntax; where it cannot be sure, it picks the riskier class.
 */
import type { Arg } from './argv.ts'
import {
  hasOption,
  type Invocation,
  operandsSkipping,
  optionValues,
  type Run,
  type Verdict,
  wordOf,
} from './invocation.ts'

export type Judge = (invocation: Invocation) => Verdict

const DEVICE_SINKS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/tty'])

/** find: reads, unless it deletes, writes lists to files, or runs commands (-exec, -ok). */
function find(invocation: Invocation): Verdict {
  const runs: Run[] = []
  const risks: string[] = []
  let cls: Verdict['class'] = 'read'
  const { args } = invocation
  for (let index = 0; index < args.length; index++) {
    const word = wordOf(args[index] as Arg)
    if (word === '-delete') {
      cls = 'write'
      risks.push('find -delete')
    } else if (/^-(fprint0?|fprintf|fls)$/.test(word)) cls = 'write'
    else if (/^-(exec|execdir|ok|okdir)$/.test(word)) {
      let end = index + 1
      while (end < args.length && !/^[;+]$/.test(wordOf(args[end] as Arg))) end++
      runs.push({ via: `find ${word}`, argv: args.slice(index + 1, end) })
      index = end
    }
  }
  return { class: cls, risks, runs }
}

/** GNU sed commands that run a shell command (`e`, `s///e`) or write a file (`w`, `s///w`). */
const SED_E_COMMAND =
  /(?:^|[;\n{}])\s*(?:[0-9$]+|\/(?:\\.|[^/\\])*\/)?(?:\s*,\s*(?:[0-9$]+|\/(?:\\.|[^/\\])*\/))?\s*!?\s*e(?:\s|;|}|$)/
const SED_W_COMMAND =
  /(?:^|[;\n{}])\s*(?:[0-9$]+|\/(?:\\.|[^/\\])*\/)?(?:\s*,\s*(?:[0-9$]+|\/(?:\\.|[^/\\])*\/))?\s*!?\s*[wW]\s/
const SED_SUBSTITUTE = /s([^\w\s\\])(?:\\.|(?!\1)[^\\])*\1(?:\\.|(?!\1)[^\\])*\1([A-Za-z0-9]*)/g

function sed(invocation: Invocation): Verdict {
  const { args } = invocation
  if (hasOption(invocation, 'f', 'file')) return { class: 'code', risks: ['sed script file'] }
  const scripts = optionValues(args, 'e', 'expression', 'il')
  if (!scripts.length) scripts.push(operandsSkipping(invocation, 'l', ['line-length'])[0] ?? '')
  let cls: Verdict['class'] = hasOption(invocation, 'i', 'in-place') ? 'write' : 'read'
  if (hasOption(invocation, 'sandbox')) return { class: cls }
  for (const script of scripts) {
    if (script === null) return { class: 'code', risks: ['sed script with expansions'] }
    const flags = [...script.matchAll(SED_SUBSTITUTE)].map((match) => match[2] ?? '')
    if (SED_E_COMMAND.test(script) || flags.some((flag) => flag.includes('e')))
      return { class: 'code', risks: ['sed runs a command (e)'] }
    if (SED_W_COMMAND.test(script) || flags.some((flag) => flag.includes('w'))) cls = 'write'
  }
  return { class: cls }
}

/** awk: `system()`, pipes and coprocesses run commands; `print > f` writes a file. */
function awk(invocation: Invocation): Verdict {
  const { args } = invocation
  if (hasOption(invocation, 'f', 'file', 'i', 'include', 'l', 'load', 'E', 'exec'))
    return { class: 'code', risks: ['awk program file or extension'] }
  const sources = optionValues(args, 'e', 'source')
  if (!sources.length) sources.push(operandsSkipping(invocation, 'vF', ['assign'])[0] ?? '')
  let cls: Verdict['class'] = 'read'
  for (const source of sources) {
    if (source === null) return { class: 'code', risks: ['awk program with expansions'] }
    if (/\bsystem\s*\(|(?<!\|)\|(?!\|)/.test(source))
      return { class: 'code', risks: ['awk runs a command'] }
    if (/\bprintf?\b[^;{}\n]*>/.test(source)) cls = 'write'
  }
  return { class: cls }
}

/** tar: listing and comparing read; creating and extracting write; hooks run commands. */
function tar(invocation: Invocation): Verdict {
  const first = invocation.words[0] ?? ''
  // Old style: `tar xzf file`, the first word is a bundle of option letters.
  const letters = first.startsWith('-') ? [] : [...first]
  const options = [...invocation.options, ...letters]
  const hooks = [
    'to-command',
    'checkpoint-action',
    'use-compress-program',
    'I',
    'info-script',
    'new-volume-script',
    'F',
    'rsh-command',
    'rmt-command',
  ]
  if (hooks.some((hook) => options.includes(hook)))
    return { class: 'code', risks: ['tar runs a program'] }
  const modes = ['c', 'x', 'r', 'u', 'A', 'create', 'extract', 'get', 'append', 'update']
  const writes = modes.some((mode) => options.includes(mode)) || options.includes('delete')
  return { class: writes ? 'write' : 'read' }
}

/** dd: reads unless it has `of=`; a device as `of=` is administration. */
function dd(invocation: Invocation): Verdict {
  const target = invocation.operands.find((operand) => operand.startsWith('of='))?.slice(3)
  if (target === undefined || DEVICE_SINKS.has(target)) return { class: 'read' }
  if (target.startsWith('/dev/')) return { class: 'admin', risks: [`writes device ${target}`] }
  return { class: 'write' }
}

function tee(invocation: Invocation): Verdict {
  const files = invocation.operands.filter((operand) => !DEVICE_SINKS.has(operand))
  return { class: files.length ? 'write' : 'read' }
}

function sort(invocation: Invocation): Verdict {
  return { class: hasOption(invocation, 'o', 'output') ? 'write' : 'read' }
}

function uniq(invocation: Invocation): Verdict {
  return { class: operandsSkipping(invocation, 'fsw').length > 1 ? 'write' : 'read' }
}

/** yq -i edits in place; jq never writes. */
function yq(invocation: Invocation): Verdict {
  return { class: hasOption(invocation, 'i', 'inplace') ? 'write' : 'read' }
}

/** A mode that sets the setuid or setgid bit: `4755`, `u+s`, `a+rx,g+s`. */
function setsId(mode: string | null): boolean {
  if (mode === null) return true
  return (
    /^[0-7]?[2-7][0-7]{3}$/.test(mode) ||
    mode.split(',').some((clause) => /^[ugoa]*[+=][rwxXt]*s/.test(clause))
  )
}

const SETID: Verdict = { class: 'privilege', risks: ['sets the setuid or setgid bit'] }

/** chmod, and install -m: setting the setuid or setgid bit hands out privilege. */
function chmod(invocation: Invocation): Verdict {
  const modes = invocation.args.map((arg) => (arg.value === null ? null : arg.value))
  return modes.some((mode) => mode !== null && setsId(mode)) ? SETID : { class: 'write' }
}

function install(invocation: Invocation): Verdict {
  return optionValues(invocation.args, 'm', 'mode', 'gotS').some(setsId)
    ? SETID
    : { class: 'write' }
}

/** zip -TT runs the given command to test the archive. */
function zip(invocation: Invocation): Verdict {
  const runs = invocation.words.some((word) => /^(-TT|--unzip-command)/.test(word))
  return runs ? { class: 'code', risks: ['zip -TT runs a command'] } : { class: 'write' }
}

/** rsync: remote when a source or destination names a host, else a local copy. */
function rsync(invocation: Invocation): Verdict {
  const shells = optionValues(invocation.args, 'e', 'rsh')
  if (shells.some((shell) => shell === null || !/^ssh(\s|$)/.test(shell)))
    return { class: 'code', risks: ['rsync runs a remote shell program'] }
  const remote = invocation.operands.some(
    (operand) => /^[^/]*:/.test(operand) || operand.startsWith('rsync://')
  )
  return { class: remote ? 'network' : 'write' }
}

const GIT_READ = new Set(
  `status log diff show blame annotate grep ls-files ls-tree ls-remote rev-parse rev-list describe
  shortlog cat-file whatchanged count-objects fsck for-each-ref name-rev merge-base show-ref
  show-branch verify-commit verify-tag check-ignore check-attr var help version cherry range-diff
  diff-tree diff-files diff-index`.split(/\s+/)
)
const GIT_CODE = new Set(['difftool', 'mergetool', 'filter-branch', 'instaweb', 'daemon'])
/** Config keys whose values git runs as commands or that point it at other code. */
const GIT_CODE_KEYS =
  /^(core\.(pager|editor|sshcommand|fsmonitor|hookspath|askpass|gitproxy|alternaterefscommand)|alias\.|diff\..*\.(command|textconv)|diff\.external|merge\..*\.driver|filter\.|credential\.|sequence\.editor|gpg\..*program|uploadpack\.|receivepack\.|remote\..*\.(uploadpack|receivepack|proxy)|include\.|includeif\.|pager\.|man\.|web\.browser|browser\.|difftool\.|mergetool\.|interactive\.difffilter|sendemail\..*(cmd|smtpserver)|protocol\.)/i

/** git: reading subcommands read; the rest write; helpers that run programs are code. */
function git(invocation: Invocation): Verdict {
  const { words } = invocation
  let index = 0
  while (index < words.length) {
    const word = words[index] as string
    if (word === '-c' || word.startsWith('--config-env') || word.startsWith('--exec-path='))
      return { class: 'code', risks: [`git ${word.split('=')[0]} can make git run a program`] }
    if (/^(-C|--git-dir|--work-tree|--namespace|--super-prefix)$/.test(word)) index += 2
    else if (word.startsWith('-')) index++
    else break
  }
  const subcommand = words[index]
  const rest = words.slice(index + 1)
  if (subcommand === undefined) return { class: 'read' }
  const subOptions = rest.filter((word) => word.startsWith('-'))
  const subOperands = rest.filter((word) => !word.startsWith('-'))
  const has = (...names: string[]) =>
    subOptions.some((option) => names.includes(option.split('=')[0] as string))
  if (GIT_CODE.has(subcommand)) return { class: 'code', risks: [`git ${subcommand}`] }
  if (subcommand === 'grep' && has('-O', '--open-files-in-pager'))
    return { class: 'code', risks: ['git grep runs a pager'] }
  if (has('--output')) return { class: 'write' }
  if (GIT_READ.has(subcommand)) return { class: 'read' }
  const first = subOperands[0]
  switch (subcommand) {
    case 'branch': {
      const changes = ['-d', '-D', '-m', '-M', '-c', '-C', '-f', '-u', '--delete', '--move']
      const edits = has(...changes, '--copy', '--force', '--set-upstream-to', '--unset-upstream')
      return { class: edits || subOperands.length ? 'write' : 'read' }
    }
    case 'tag':
      return {
        class: !subOperands.length || has('-l', '--list', '-v', '--verify') ? 'read' : 'write',
      }
    case 'remote':
      return { class: !first || first === 'show' || first === 'get-url' ? 'read' : 'write' }
    case 'stash':
      return { class: first === 'list' || first === 'show' ? 'read' : 'write' }
    case 'reflog':
      return { class: first === 'expire' || first === 'delete' ? 'write' : 'read' }
    case 'worktree':
      return { class: first === 'list' ? 'read' : 'write' }
    case 'notes':
      return { class: !first || first === 'list' || first === 'show' ? 'read' : 'write' }
    case 'submodule':
      if (first === 'foreach') return { class: 'code', risks: ['git submodule foreach'] }
      return { class: !first || first === 'status' || first === 'summary' ? 'read' : 'write' }
    case 'bisect':
      return first === 'run' ? { class: 'code', risks: ['git bisect run'] } : { class: 'write' }
    case 'rebase':
      return has('-x', '--exec')
        ? { class: 'code', risks: ['git rebase --exec'] }
        : { class: 'write' }
    case 'config': {
      const key = subOperands[0] ?? ''
      const reads = has('--get', '--get-all', '--get-regexp', '--list', '-l', '--get-urlmatch')
      if (reads || (subOperands.length <= 1 && !has('--unset', '--unset-all', '--edit', '-e')))
        return { class: 'read' }
      if (GIT_CODE_KEYS.test(key)) return { class: 'code', risks: [`git config ${key}`] }
      return { class: 'write' }
    }
    default:
      return { class: 'write' }
  }
}

export const FILE_JUDGES: Readonly<Record<string, Judge>> = {
  find,
  sed,
  awk,
  gawk: awk,
  mawk: awk,
  nawk: awk,
  tar,
  bsdtar: tar,
  dd,
  tee,
  sort,
  uniq,
  yq,
  chmod,
  install,
  zip,
  rsync,
  git,
}
