import { describe, expect, it } from 'vitest'
import { INACTIVE_PROFILE, type MaskingProfile } from '../../../src/masking/profile.ts'
import type { CopyOut } from '../../../src/masking/sql/index.ts'
import { createTextMasker } from '../../../src/masking/text-masker.ts'
import type { MaskTally } from '../../../src/masking/types.ts'
import { maskCopyRow } from '../../../src/protocols/postgres/masking/copy-rows.ts'

const PROFILE: MaskingProfile = {
  ...INACTIVE_PROFILE,
  active: true,
  text: createTextMasker(new Map([['email', 'redact']]), new Uint8Array(32)),
}
const TEXT: CopyOut = {
  format: 'text',
  delimiter: '\t',
  quote: '"',
  escape: '"',
  nullString: '\\N',
  header: false,
}
const CSV: CopyOut = { ...TEXT, format: 'csv', delimiter: ',', nullString: '' }
const SECRET = { kind: 'mask', reasons: ['column:t.s'], mask: () => 'x\ty' } as const

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function run(row: string, copy: CopyOut, columns: Parameters<typeof maskCopyRow>[2]) {
  const tally: MaskTally = new Map()
  const input = encoder.encode(row)
  const out = maskCopyRow(input, copy, columns, PROFILE, tally)
  return { text: decoder.decode(out), same: out === input, tally: Object.fromEntries(tally) }
}

describe('COPY text rows', () => {
  it('masks a column and escapes what the mask contains', () => {
    expect(run('1\tsecret\\twith tab\t\\N\n', TEXT, [{ kind: 'pass' }, SECRET, SECRET])).toEqual({
      text: '1\tx\\ty\t\\N\n',
      same: false,
      tally: { 'column:t.s': 1 },
    })
  })

  it('scans unescaped values with the detectors and escapes them back', () => {
    expect(run('mail\\tada@example.com\t2\n', TEXT, [{ kind: 'scan' }, { kind: 'scan' }])).toEqual({
      text: 'mail\\t[REDACTED]\t2\n',
      same: false,
      tally: { 'detector:email': 1 },
    })
  })

  it('does not split at an escaped delimiter of a custom DELIMITER', () => {
    const comma = { ...TEXT, delimiter: ',' }
    expect(run('a\\,b ada@example.com,2\n', comma, [{ kind: 'scan' }, SECRET])).toEqual({
      text: 'a\\,b [REDACTED],x\\ty\n',
      same: false,
      tally: { 'detector:email': 1, 'column:t.s': 1 },
    })
  })

  it('returns the row itself when nothing changed', () => {
    expect(run('1\tplain\n', TEXT, [{ kind: 'scan' }, { kind: 'scan' }]).same).toBe(true)
  })
})

describe('COPY CSV rows', () => {
  it('reads quoted fields with doubled quotes and commas, and quotes the mask', () => {
    expect(
      run('1,"say ""hi"", ada@example.com",,"s,1"\n', CSV, [
        { kind: 'pass' },
        { kind: 'scan' },
        SECRET,
        SECRET,
      ])
    ).toEqual({
      text: '1,"say ""hi"", [REDACTED]",,"x\ty"\n',
      same: false,
      tally: { 'detector:email': 1, 'column:t.s': 1 },
    })
  })
})
