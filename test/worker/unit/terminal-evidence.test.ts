/**
 * The terminal evidence check `gatehouse verify` runs: stored asciicast parts against the
 * digests the transcript's `terminal` events name.
 */
import { describe, expect, it } from 'vitest'
import { checkTerminalParts, recordedParts } from '../../../src/evidence/terminal-evidence.ts'

const PREFIX = 'sessions/2026/11/23/s1/'
const key = (terminal: number, part: number) =>
  `${PREFIX}terminal-${terminal}/${String(part).padStart(6, '0')}.cast`
const digest = (n: number) => n.toString(16).padStart(64, '0')

function terminalEvent(seq: number, terminal: number, part: number, sha256: string): string {
  return JSON.stringify({
    seq,
    type: 'terminal',
    data: { terminal, part, key: key(terminal, part), sha256, bytes: 10 },
  })
}

const lines = [
  JSON.stringify({ seq: 0, type: 'session.start', data: { protocol: 'ssh' } }),
  terminalEvent(1, 0, 0, digest(1)),
  JSON.stringify({ seq: 2, type: 'command', data: { note: '"type":"terminal" in a command' } }),
  terminalEvent(3, 0, 1, digest(2)),
  terminalEvent(4, 1, 0, digest(3)),
  '{"type":"terminal", not json',
]

describe('recordedParts', () => {
  it('maps each part a terminal event names to its digest, and nothing else', () => {
    expect([...recordedParts(lines)]).toEqual([
      [key(0, 0), digest(1)],
      [key(0, 1), digest(2)],
      [key(1, 0), digest(3)],
    ])
  })
})

describe('checkTerminalParts', () => {
  const recorded = recordedParts(lines)
  const stored = (overrides: Partial<Record<string, string>> = {}) =>
    [
      [0, 0, digest(1)],
      [0, 1, digest(2)],
      [1, 0, digest(3)],
    ].map(([terminal, part, sha256]) => ({
      key: key(Number(terminal), Number(part)),
      terminal: Number(terminal),
      part: Number(part),
      sha256: overrides[`${terminal}/${part}`] ?? String(sha256),
    }))

  it('verifies every part when each stored digest is the recorded one', () => {
    expect(checkTerminalParts(stored(), recorded)).toEqual({
      recorded: 3,
      verified: 3,
      problems: [],
    })
  })

  it('names an altered part, a missing part and a part the transcript never named, in order', () => {
    const parts = stored({ '0/1': digest(99) }).filter((part) => part.terminal !== 1)
    parts.unshift({ key: key(0, 7), terminal: 0, part: 7, sha256: digest(7) })
    expect(checkTerminalParts(parts, recorded)).toEqual({
      recorded: 3,
      verified: 1,
      problems: [
        'terminal 0 part 1 was altered',
        'terminal 0 part 7 is not in the transcript',
        'terminal 1 part 0 is in the transcript but missing',
      ],
    })
  })

  it('treats a part without a digest as altered, never as verified', () => {
    const parts = stored().map(({ sha256: _, ...part }) => part)
    expect(checkTerminalParts(parts, recorded).verified).toBe(0)
  })
})
