// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell, where ${…} is parameter expansion
import { describe, expect, it } from 'vitest'
import type { ShellSimpleCommand } from '../../../src/pipeline/types.ts'
import { classifyShell } from '../../../src/policy/shell/index.ts'

/** Each simple command as `[program, args, class, via]`, in the order they run. */
function runs(line: string): [string, string[], string, string[]][] {
  return classifyShell(line, 'api').commands.map((command) => [
    command.program,
    command.args,
    command.class,
    command.via,
  ])
}

/** The line's only simple command, whole. */
function only(line: string): ShellSimpleCommand {
  const { commands } = classifyShell(line, 'exec')
  expect(commands).toHaveLength(1)
  return commands[0] as ShellSimpleCommand
}

function simple(expected: Partial<ShellSimpleCommand>): ShellSimpleCommand {
  return {
    text: '',
    program: '',
    args: [],
    options: [],
    operands: [],
    class: 'read',
    writes: false,
    via: [],
    risks: [],
    ...expected,
  }
}

const RM_ROOT = simple({
  text: 'rm -rf /',
  program: 'rm',
  args: ['-rf', '/'],
  options: ['r', 'f'],
  operands: ['/'],
  class: 'write',
  writes: true,
})

describe('classifyShell: words and quoting', () => {
  it('splits a plain command into program, options and operands', () => {
    expect(classifyShell('rm -rf /', 'exec')).toEqual({
      kind: 'shell',
      text: 'rm -rf /',
      commands: [RM_ROOT],
      via: 'exec',
    })
  })

  it("removes empty quotes inside the program name: r''m is rm", () => {
    expect(only("r''m -rf /")).toEqual({ ...RM_ROOT, text: "r''m -rf /" })
  })

  it('removes a backslash before the program name: \\rm is rm', () => {
    expect(only('\\rm -rf /')).toEqual({ ...RM_ROOT, text: '\\rm -rf /' })
  })

  it('removes double quotes around the program name', () => {
    expect(only('"rm" -rf /')).toEqual({ ...RM_ROOT, text: '"rm" -rf /' })
  })

  it("decodes $'…' ANSI-C quoting: $'\\x72m' is rm", () => {
    expect(only("$'\\x72m' -rf /")).toEqual({ ...RM_ROOT, text: "$'\\x72m' -rf /" })
    expect(only("$'\\162\\155' -rf /").program).toBe('rm')
    expect(only("$'\\u0072m' -rf /").program).toBe('rm')
    expect(only("$'\\x72m\\x00ls' -rf /").program).toBe('rm')
  })

  it('keeps -- in args but ends options there', () => {
    expect(only('rm -rf -- /')).toEqual({
      ...RM_ROOT,
      text: 'rm -rf -- /',
      args: ['-rf', '--', '/'],
    })
    expect(only('ls -- -weird')).toMatchObject({ options: [], operands: ['-weird'] })
  })

  it('names long options without dashes or values', () => {
    expect(only('rm --recursive --force=yes /')).toMatchObject({
      options: ['recursive', 'force'],
      operands: ['/'],
    })
  })

  it('keeps quoted text one word, quotes removed', () => {
    expect(runs("echo \"a; b\" | tr ';' '\\n'")).toEqual([
      ['echo', ['a; b'], 'read', []],
      ['tr', [';', '\\n'], 'read', []],
    ])
    expect(only("echo $'it\\'s'").args).toEqual(["it's"])
  })

  it('keeps words with expansions as written', () => {
    expect(only('echo "$HOME"/x ${y:-z} $1')).toMatchObject({
      args: ['"$HOME"/x', '${y:-z}', '$1'],
      class: 'read',
    })
  })

  it('applies brace expansion: {rm,-rf,/} is rm -rf /', () => {
    expect(only('{rm,-rf,/}')).toEqual({
      ...RM_ROOT,
      text: '{rm,-rf,/}',
      risks: ['brace expansion'],
    })
    expect(only('echo {a..c}{1..2} x{,.bak}').args).toEqual([
      'a1',
      'a2',
      'b1',
      'b2',
      'c1',
      'c2',
      'x',
      'x.bak',
    ])
    expect(only("echo '{a,b}'").args).toEqual(['{a,b}'])
  })

  it('joins a line continuation', () => {
    expect(runs('ls \\\n  -la')).toEqual([['ls', ['-la'], 'read', []]])
  })
})

describe('classifyShell: lists and pipelines', () => {
  it('lists every command of ; && || | |& & and newlines, in order', () => {
    expect(runs('ls; id && pwd || true | cat |& wc -l & whoami\ndate')).toEqual([
      ['ls', [], 'read', []],
      ['id', [], 'read', []],
      ['pwd', [], 'read', []],
      ['true', [], 'read', []],
      ['cat', [], 'read', []],
      ['wc', ['-l'], 'read', []],
      ['whoami', [], 'read', []],
      ['date', [], 'read', []],
    ])
  })

  it('finds the write hidden after a read: ls; rm -fr /', () => {
    expect(runs('ls; rm -fr /')).toEqual([
      ['ls', [], 'read', []],
      ['rm', ['-fr', '/'], 'write', []],
    ])
  })

  it('drops ! and the time keyword, keeping the command', () => {
    expect(runs('! ls')).toEqual([['ls', [], 'read', []]])
    expect(runs('time -p ls')).toEqual([['ls', [], 'read', []]])
  })

  it('does not take a comment for a command', () => {
    expect(runs('ls # rm -rf /')).toEqual([['ls', [], 'read', []]])
    expect(runs('ls a#b')).toEqual([['ls', ['a#b'], 'read', []]])
  })
})

describe('classifyShell: compound commands', () => {
  it('lists the commands of a group and a subshell', () => {
    expect(only('{ rm -rf /; }')).toEqual(RM_ROOT)
    expect(runs('(cd / && rm -rf *)')).toEqual([
      ['cd', ['/'], 'read', []],
      ['rm', ['-rf', '*'], 'write', []],
    ])
  })

  it('lists the commands of if, elif and else', () => {
    expect(runs('if [ -f /x ]; then rm /x; elif true; then :; else echo no; fi')).toEqual([
      ['[', ['-f', '/x', ']'], 'read', []],
      ['rm', ['/x'], 'write', []],
      ['true', [], 'read', []],
      [':', [], 'read', []],
      ['echo', ['no'], 'read', []],
    ])
  })

  it('lists the commands of for, while and until loops', () => {
    expect(runs('for f in *; do rm -rf "$f"; done')).toEqual([['rm', ['-rf', '"$f"'], 'write', []]])
    expect(runs('while read l; do echo "$l"; done < /etc/passwd')).toEqual([
      ['read', ['l'], 'read', []],
      ['echo', ['"$l"'], 'read', []],
    ])
    expect(runs('until false; do sleep 1; done')).toEqual([
      ['false', [], 'read', []],
      ['sleep', ['1'], 'read', []],
    ])
    expect(runs('for ((i=0; i<3; i++)); do echo $i; done')).toEqual([['echo', ['$i'], 'read', []]])
    expect(runs('for x in $(ls); do :; done')).toEqual([
      ['ls', [], 'read', []],
      [':', [], 'read', []],
    ])
  })

  it('lists the commands of every case branch, and of the case words', () => {
    const line =
      'case "$(id -u)" in start) systemctl start x;; stop|halt) shutdown -h now;; *) echo usage;; esac'
    expect(runs(line)).toEqual([
      ['id', ['-u'], 'read', []],
      ['systemctl', ['start', 'x'], 'admin', []],
      ['shutdown', ['-h', 'now'], 'admin', []],
      ['echo', ['usage'], 'read', []],
    ])
  })

  it('lists a function body where it is defined, and a call to it as that body', () => {
    expect(classifyShell('f() { rm -rf /; }; f', 'api').commands).toEqual([
      RM_ROOT,
      simple({ text: 'f', program: 'f', risks: ['calls function f'] }),
    ])
    expect(runs('function g { ls; }')).toEqual([['ls', [], 'read', []]])
  })

  it('still judges a call to a function named like a program as that program', () => {
    expect(runs('rm() { echo; }; rm -rf /')).toEqual([
      ['echo', [], 'read', []],
      ['rm', ['-rf', '/'], 'write', []],
    ])
  })

  it('reads [[ … ]] and (( … )) as commands, with their substitutions', () => {
    expect(runs('[[ $x == y && -f /z ]]')).toEqual([
      ['[[', ['$x', '==', 'y', '&&', '-f', '/z', ']]'], 'read', []],
    ])
    expect(runs('[[ $(id -u) =~ ^(0|1)$ ]]')).toEqual([
      ['id', ['-u'], 'read', []],
      ['[[', ['$(id -u)', '=~', '^(0|1)$', ']]'], 'read', []],
    ])
    expect(runs('((i++))')).toEqual([['((', ['i++'], 'read', []]])
  })

  it('reads ((…)) that does not close as )) as nested subshells, as bash does', () => {
    expect(runs('((echo hi); (ls))')).toEqual([
      ['echo', ['hi'], 'read', []],
      ['ls', [], 'read', []],
    ])
  })
})

describe('classifyShell: substitutions', () => {
  it('lists a command substitution before the command that uses it', () => {
    expect(classifyShell('echo $(rm -rf /)', 'api').commands).toEqual([
      RM_ROOT,
      simple({
        text: 'echo $(rm -rf /)',
        program: 'echo',
        args: ['$(rm -rf /)'],
        operands: ['$(rm -rf /)'],
        risks: ['command substitution'],
      }),
    ])
  })

  it('follows nested backticks and $( ) inside double quotes', () => {
    expect(runs('echo `echo \\`id\\``')).toEqual([
      ['id', [], 'read', []],
      ['echo', ['`id`'], 'read', []],
      ['echo', ['`echo \\`id\\``'], 'read', []],
    ])
    expect(runs('echo "$(echo "$(whoami)")"')).toEqual([
      ['whoami', [], 'read', []],
      ['echo', ['"$(whoami)"'], 'read', []],
      ['echo', ['"$(echo "$(whoami)")"'], 'read', []],
    ])
  })

  it('lists an assignment from a substitution: a=$(cat /etc/shadow)', () => {
    expect(classifyShell('a=$(cat /etc/shadow)', 'api').commands).toEqual([
      simple({
        text: 'cat /etc/shadow',
        program: 'cat',
        args: ['/etc/shadow'],
        operands: ['/etc/shadow'],
      }),
      simple({ text: 'a=$(cat /etc/shadow)', risks: ['command substitution'] }),
    ])
  })

  it('lists process substitutions <( ) and >( )', () => {
    expect(runs('diff <(ls a) >(cat)')).toEqual([
      ['ls', ['a'], 'read', []],
      ['cat', [], 'read', []],
      ['diff', ['<(ls a)', '>(cat)'], 'read', []],
    ])
  })

  it('finds substitutions in arithmetic, parameter expansion defaults and arrays', () => {
    expect(runs('echo $((1 + $(id -u)))')).toEqual([
      ['id', ['-u'], 'read', []],
      ['echo', ['$((1 + $(id -u)))'], 'read', []],
    ])
    expect(runs('echo ${x:-$(rm -rf /)}')[0]).toEqual(['rm', ['-rf', '/'], 'write', []])
    expect(runs('echo "${x:-\'$(rm -rf /)\'}"')[0]).toEqual(['rm', ['-rf', '/'], 'write', []])
    expect(runs('a=(1 $(id) 3)')[0]).toEqual(['id', [], 'read', []])
  })

  it('reads $( ( … ) ) when $(( does not close as arithmetic', () => {
    expect(runs('echo $((ls) | cat)')).toEqual([
      ['ls', [], 'read', []],
      ['cat', [], 'read', []],
      ['echo', ['$((ls) | cat)'], 'read', []],
    ])
  })
})

describe('classifyShell: redirections and here-documents', () => {
  it('makes output to a file a write, naming the file', () => {
    expect(only('cat /etc/hostname > /tmp/x')).toEqual(
      simple({
        text: 'cat /etc/hostname > /tmp/x',
        program: 'cat',
        args: ['/etc/hostname'],
        operands: ['/etc/hostname'],
        class: 'write',
        writes: true,
        risks: ['redirects to /tmp/x'],
      })
    )
    for (const op of ['>>', '>|', '&>', '&>>', '2>', '1>>', '<>'])
      expect(only(`ls ${op} out.txt`)).toMatchObject({
        class: 'write',
        risks: ['redirects to out.txt'],
      })
  })

  it('does not count /dev/null, descriptor copies or input as writes', () => {
    expect(only('ls 2>&1 >/dev/null 2>/dev/stderr <in.txt 3<&0 >&-')).toMatchObject({
      class: 'read',
      writes: false,
      risks: [],
    })
  })

  it('treats /dev/tcp as a network connection', () => {
    expect(only('echo hi > /dev/tcp/10.0.0.1/80')).toMatchObject({
      class: 'network',
      risks: ['opens a network connection (/dev/tcp/10.0.0.1/80)'],
    })
  })

  it('makes a bare redirection a write by the shell itself', () => {
    expect(only('> /etc/passwd')).toEqual(
      simple({
        text: '> /etc/passwd',
        class: 'write',
        writes: true,
        risks: ['redirects to /etc/passwd'],
      })
    )
  })

  it("applies a group's redirection to every command in it", () => {
    expect(runs('{ ls; id; } > /tmp/out')).toEqual([
      ['ls', [], 'write', []],
      ['id', [], 'write', []],
    ])
  })

  it('treats here-doc text as data, not commands', () => {
    expect(classifyShell('cat <<EOF\nrm -rf /\nEOF', 'api').commands).toEqual([
      simple({ text: 'cat <<EOF', program: 'cat', risks: ['here-doc into cat'] }),
    ])
    expect(runs("cat <<'EOF'\n$(rm -rf /)\nEOF\nls")).toEqual([
      ['cat', [], 'read', []],
      ['ls', [], 'read', []],
    ])
    expect(runs('cat <<-EOF\n\trm -rf /\n\tEOF\necho done')).toEqual([
      ['cat', [], 'read', []],
      ['echo', ['done'], 'read', []],
    ])
  })

  it('runs the substitutions of an unquoted here-doc', () => {
    expect(runs('cat <<EOF\nhello $(rm -rf /)\nEOF')).toEqual([
      ['rm', ['-rf', '/'], 'write', []],
      ['cat', [], 'read', []],
    ])
    expect(runs('cat <<EOF\n\\$(rm -rf /)\nEOF')).toEqual([['cat', [], 'read', []]])
  })

  it('reads several here-docs of one line in order', () => {
    expect(runs('cat <<A; cat <<"B"\na\nA\nb\nB\nls')).toEqual([
      ['cat', [], 'read', []],
      ['cat', [], 'read', []],
      ['ls', [], 'read', []],
    ])
  })

  it('makes a here-doc into a shell code: sh <<EOF', () => {
    expect(only('sh <<EOF\nrm -rf /\nEOF')).toEqual(
      simple({
        text: 'sh <<EOF',
        program: 'sh',
        class: 'code',
        writes: true,
        risks: ['sh reads commands from standard input', 'here-doc into sh'],
      })
    )
  })

  it('names a here-string as input', () => {
    expect(only('grep x <<< abc')).toMatchObject({
      program: 'grep',
      class: 'read',
      risks: ['here-string into grep'],
    })
  })
})

describe('classifyShell: assignments and variables', () => {
  it('reads past leading assignments and a path to the program: x=1 /bin/rm', () => {
    expect(only('x=1 /bin/rm -rf /')).toEqual({ ...RM_ROOT, text: 'x=1 /bin/rm -rf /' })
  })

  it('lists a bare assignment as the shell setting a variable', () => {
    expect(only('x=1')).toEqual(simple({ text: 'x=1' }))
  })

  it('makes setting a loader or PATH variable code', () => {
    expect(only('LD_PRELOAD=/tmp/x.so ls')).toMatchObject({
      program: 'ls',
      class: 'code',
      risks: ['sets LD_PRELOAD'],
    })
    expect(runs('PATH=/tmp; ls')).toEqual([
      ['', [], 'code', []],
      ['ls', [], 'read', []],
    ])
    expect(only('env BASH_ENV=/tmp/x bash -c ls')).toMatchObject({
      program: 'ls',
      class: 'code',
      via: ['env', 'bash -c'],
    })
  })

  it('makes a dynamic program name unknown', () => {
    for (const line of ['$CMD -rf /', '"$CMD" -rf /', '/bin/r? -rf /', '/bin/r[m] -rf /'])
      expect(only(line)).toMatchObject({ class: 'unknown', risks: ['dynamic program name'] })
    expect(runs('$(echo rm) -rf /')).toEqual([
      ['echo', ['rm'], 'read', []],
      ['$(echo rm)', ['-rf', '/'], 'unknown', []],
    ])
  })

  it('makes arithmetic on variables code when the line stores command text in one', () => {
    expect(runs("x='a[$(rm -rf /)]'; echo $((x))")).toEqual([
      ['', [], 'read', []],
      ['echo', ['$((x))'], 'code', []],
    ])
    expect(runs('read x; [[ $x -eq 1 ]]')).toEqual([
      ['read', ['x'], 'read', []],
      ['[[', ['$x', '-eq', '1', ']]'], 'code', []],
    ])
    expect(runs('echo $((x + 1))')).toEqual([['echo', ['$((x + 1))'], 'read', []]])
  })
})

describe('classifyShell: fail closed', () => {
  const unknown = (line: string, reason: string) => ({
    kind: 'shell',
    text: line,
    via: 'api',
    commands: [simple({ text: line, class: 'unknown', writes: true, risks: [reason] })],
  })

  it('makes an unbalanced quote one unknown command', () => {
    expect(classifyShell("echo 'x", 'api')).toEqual(
      unknown("echo 'x", 'could not be parsed: unbalanced single quote')
    )
    expect(classifyShell('echo "x', 'api')).toEqual(
      unknown('echo "x', 'could not be parsed: unbalanced double quote')
    )
    expect(classifyShell('echo $(ls', 'api')).toEqual(
      unknown('echo $(ls', 'could not be parsed: unbalanced $( … )')
    )
    expect(classifyShell('echo `ls', 'api')).toEqual(
      unknown('echo `ls', 'could not be parsed: unbalanced backtick')
    )
  })

  it('makes unfinished or stray syntax unknown', () => {
    for (const line of ['if true; then ls', 'ls )', 'ls; ;', '{ ls', 'for x in a; do', 'case a in'])
      expect(classifyShell(line, 'api').commands).toMatchObject([{ class: 'unknown', program: '' }])
  })

  it('makes syntax it does not support unknown rather than guessing', () => {
    expect(classifyShell('coproc ls', 'api').commands[0]?.class).toBe('unknown')
    expect(classifyShell('echo $[1+2]', 'api').commands[0]?.class).toBe('unknown')
    expect(classifyShell('ls !(x)', 'api').commands[0]?.class).toBe('unknown')
  })

  it('makes an empty line, or only a comment, unknown', () => {
    expect(classifyShell('', 'api')).toEqual(unknown('', 'no command'))
    expect(classifyShell('  # hi', 'api')).toEqual(unknown('  # hi', 'no command'))
  })

  it('refuses input past the length and nesting limits', () => {
    const long = `echo ${'a'.repeat(70_000)}`
    expect(classifyShell(long, 'api').commands).toMatchObject([
      { class: 'unknown', risks: ['could not be parsed: longer than 65536 characters'] },
    ])
    const deep = `${'$('.repeat(40)}ls${')'.repeat(40)}`
    expect(classifyShell(deep, 'api').commands).toMatchObject([
      { class: 'unknown', risks: ['could not be parsed: nested too deeply'] },
    ])
    const groups = `${'{ '.repeat(40)}ls${'; }'.repeat(40)}`
    expect(classifyShell(groups, 'api').commands[0]?.class).toBe('unknown')
    const strings = `${"sh -c '".repeat(1)}${'eval '.repeat(12)}ls'`
    expect(classifyShell(strings, 'api').commands[0]?.class).toBe('unknown')
  })

  it('refuses a brace expansion that would make too many words', () => {
    expect(classifyShell('echo {1..100000}', 'api').commands[0]).toMatchObject({
      class: 'unknown',
      risks: ['could not be parsed: brace expansion makes more than 256 words'],
    })
  })
})
