import { describe, expect, it } from 'vitest'
import { maskTerminalStream } from '../../../src/masking/terminal-stream.ts'
import { createTextMasker } from '../../../src/masking/text-masker.ts'
import type { MaskStrategy, MaskTally } from '../../../src/masking/types.ts'

const MASKER = createTextMasker(
  new Map([['email', 'redact' as MaskStrategy]]),
  new Uint8Array(32).fill(7)
)
const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe('terminal output masking', () => {
  it('sends complete lines masked at once and a prompt after a short pause', async () => {
    const tally: MaskTally = new Map()
    const stream = maskTerminalStream(MASKER, tally, 10)
    const writer = stream.writable.getWriter()
    const reader = stream.readable.getReader()
    void writer.write(encoder.encode('mail ada@example.com\nbob@exa'))
    expect(decoder.decode((await reader.read()).value)).toBe('mail [REDACTED]\n')
    void writer.write(encoder.encode('mple.com\n$ '))
    // The address cut by a chunk boundary is still one line: masked whole.
    expect(decoder.decode((await reader.read()).value)).toBe('[REDACTED]\n')
    const started = Date.now()
    // The prompt has no newline: it comes once the output pauses.
    expect(decoder.decode((await reader.read()).value)).toBe('$ ')
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(tally.get('detector:email')).toBe(2)
    await writer.close()
    expect((await reader.read()).done).toBe(true)
  })
})
