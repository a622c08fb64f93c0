import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { classifyShell, SHELL_CLASS_RISK } from '../../../src/policy/shell/index.ts'

/** Tokens that make random strings land near real command lines and their corner cases. */
const SHELL_TOKENS = [
  'rm',
  'ls',
  'sudo',
  'sh -c',
  'eval',
  'x=1',
  ' ',
  ' -rf ',
  '/',
  ';',
  '&&',
  '||',
  '|',
  '&',
  '\n',
  "'",
  '"',
  '\\',
  '$(',
  ')',
  '(',
  '`',
  '{',
  '}',
  '{ ',
  '; }',
  "$'",
  '\\x72',
  '<<EOF',
  '\nEOF\n',
  '<<<',
  '<(',
  '>',
  '2>&1',
  '$((',
  '))',
  '${x:-',
  '#',
  'if ',
  '; then ',
  '; fi',
  'for i in 1; do ',
  '; done',
  'case a in a) ',
  ';;',
  ' esac',
  '[[ ',
  ' ]]',
  '{a,b}',
  '*',
  '$x',
]

const shellish = fc
  .array(fc.constantFrom(...SHELL_TOKENS), { maxLength: 24 })
  .map((tokens) => tokens.join(''))

const anything = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
  shellish
)

/** Programs the classifier lists as themselves (no wrapper is peeled). */
const PROGRAMS = ['ls', 'cat', 'grep', 'rm', 'cp', 'git', 'kill', 'curl', 'frobnicate']
const argv = fc.tuple(
  fc.constantFrom(...PROGRAMS),
  fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 6 })
)

const singleQuoted = (word: string) => `'${word.replace(/'/g, "'\\''")}'`
const doubleQuoted = (word: string) => `"${word.replace(/["$`\\]/g, '\\$&')}"`
/** Every character escaped with a backslash (a newline is quoted: `\` + newline joins lines). */
const escaped = (word: string) =>
  word === '' ? "''" : [...word].map((ch) => (ch === '\n' ? "'\n'" : `\\${ch}`)).join('')
/** `$'…'` with every UTF-16 unit as an escape (a NUL would end the string, as in bash). */
const ansiC = (word: string) =>
  `$'${[...word]
    .map((ch) => {
      const code = ch.codePointAt(0) ?? 0
      return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\U${code.toString(16)}`
    })
    .join('')}'`

describe('classifyShell: properties', () => {
  it('never throws and always returns commands of a known class', () => {
    fc.assert(
      fc.property(anything, (line) => {
        const result = classifyShell(line, 'api')
        expect(result.kind).toBe('shell')
        expect(result.text).toBe(line)
        expect(result.commands.length).toBeGreaterThanOrEqual(1)
        for (const command of result.commands)
          expect(SHELL_CLASS_RISK[command.class]).toBeTypeOf('number')
      }),
      { numRuns: 1500 }
    )
  })

  it('makes any line it cannot parse exactly one unknown command', () => {
    fc.assert(
      fc.property(anything, (line) => {
        const { commands } = classifyShell(line, 'api')
        const failed = commands.some((command) =>
          command.risks.some((risk) => /^could not be|^no command$/.test(risk))
        )
        if (!failed) return
        expect(commands).toHaveLength(1)
        expect(commands[0]).toMatchObject({ class: 'unknown', program: '', writes: true })
      }),
      { numRuns: 1500 }
    )
  })

  for (const [name, quote] of [
    ['single-quoting', singleQuoted],
    ['double-quoting', doubleQuoted],
    ['backslash-escaping', escaped],
  ] as const) {
    it(`gives back the exact program and arguments of a line built by ${name} each word`, () => {
      fc.assert(
        fc.property(argv, ([program, args]) => {
          const line = [program, ...args].map(quote).join(' ')
          const { commands } = classifyShell(line, 'api')
          expect(commands).toHaveLength(1)
          expect(commands[0]?.program).toBe(program)
          expect(commands[0]?.args).toEqual(args)
        }),
        { numRuns: 500 }
      )
    })
  }

  it("gives back the exact arguments of a line of $'…' escapes", () => {
    fc.assert(
      fc.property(argv, ([program, args]) => {
        const words = args.filter((arg) => !arg.includes('\0'))
        const line = [program, ...words].map(ansiC).join(' ')
        const { commands } = classifyShell(line, 'api')
        expect(commands[0]?.program).toBe(program)
        expect(commands[0]?.args).toEqual(words)
      }),
      { numRuns: 500 }
    )
  })

  it('lists every command of a list or pipeline, in order', () => {
    const command = argv.map(([program, args]) => ({ program, args }))
    const separator = fc.constantFrom('; ', ' && ', ' || ', ' | ', ' & ', '\n', ' |& ')
    fc.assert(
      fc.property(
        fc.array(fc.tuple(command, separator), { minLength: 1, maxLength: 6 }),
        (parts) => {
          const line = parts
            .map(
              ([{ program, args }, sep], index) =>
                [program, ...args].map(singleQuoted).join(' ') +
                (index < parts.length - 1 ? sep : '')
            )
            .join('')
          const { commands } = classifyShell(line, 'api')
          expect(commands.map(({ program, args }) => ({ program, args }))).toEqual(
            parts.map(([each]) => each)
          )
        }
      ),
      { numRuns: 300 }
    )
  })

  it('never classifies a line that runs rm as only reads, however it is quoted', () => {
    const disguise = fc.constantFrom(
      'rm',
      "r''m",
      '\\rm',
      '"rm"',
      "$'\\x72m'",
      "$'\\162m'",
      '/bin/rm',
      '{rm,}',
      'r"m"'
    )
    const wrapper = fc.constantFrom('', 'sudo ', 'env ', 'nice ', "sh -c '", 'command ', 'xargs ')
    fc.assert(
      fc.property(disguise, wrapper, (program, prefix) => {
        const suffix = prefix.endsWith("'") ? "'" : ''
        const line = `ls; ${prefix}${program.replace(/'/g, prefix.endsWith("'") ? "'\\''" : "'")} -rf /${suffix}`
        const { commands } = classifyShell(line, 'api')
        expect(commands.some((each) => each.class !== 'read')).toBe(true)
        expect(commands.some((each) => each.program === 'rm' || each.class === 'unknown')).toBe(
          true
        )
      }),
      { numRuns: 200 }
    )
  })
})
