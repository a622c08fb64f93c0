import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTextMasker } from '../../../src/masking/text-masker.ts'
import { maskTextStream } from '../../../src/masking/text-stream.ts'
import {
  DETECTOR_NAMES,
  type MaskStrategy,
  type MaskTally,
  type TextMasker,
} from '../../../src/masking/types.ts'

const KEY = new Uint8Array(32).fill(7)
const REDACT_ALL = createTextMasker(
  new Map(DETECTOR_NAMES.map((name) => [name, 'redact' as MaskStrategy])),
  KEY
)
const encoder = new TextEncoder()

/** A PEM block with deterministic base64 lines (no real key material in the repository). */
function pemBlock(label: string, lines: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let seed = 11
  const body: string[] = []
  for (let line = 0; line < lines; line++) {
    let chars = ''
    for (let i = 0; i < 64; i++) {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      chars += alphabet[(seed >>> 0) % 64]
    }
    body.push(chars)
  }
  return `-----BEGIN ${label}-----\n${body.join('\n')}\n-----END ${label}-----`
}

/** `bytes` cut at the given points (taken modulo its length). */
function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, point))
    at = point
  }
  return chunks
}

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
}

/** Streams `chunks` through the masker; returns the text out and the tally. */
async function maskChunks(
  chunks: readonly Uint8Array[],
  masker: TextMasker = REDACT_ALL,
  maxMatchChars?: number
): Promise<{ text: string; tally: MaskTally }> {
  const tally: MaskTally = new Map()
  const masked = maskTextStream(streamOf(chunks), masker, tally, { maxMatchChars })
  return { text: await new Response(masked).text(), tally }
}

function wholeTally(text: string, masker: TextMasker = REDACT_ALL): MaskTally {
  const tally: MaskTally = new Map()
  masker.mask(text, tally)
  return tally
}

describe('maskTextStream', () => {
  it('finds a PEM private key cut into many small chunks', async () => {
    const key = pemBlock('RSA PRIVATE KEY', 25)
    const text = `before\n${key}\nafter jane@example.com`
    const bytes = encoder.encode(text)
    const every7 = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => i * 7)
    const { text: out, tally } = await maskChunks(chunked(bytes, every7))
    expect(out).toBe('before\n[REDACTED]\nafter [REDACTED]')
    expect(tally).toEqual(
      new Map([
        ['detector:private_key', 1],
        ['detector:email', 1],
      ])
    )
  })

  it('finds a PEM key that straddles the held-back tail of a small window', async () => {
    const key = pemBlock('EC PRIVATE KEY', 3)
    const text = `${'filler words, '.repeat(40)}${key}${' and more words'.repeat(40)}`
    const bytes = encoder.encode(text)
    const cuts = Array.from({ length: 60 }, (_, i) => i * 31)
    const { text: out } = await maskChunks(chunked(bytes, cuts), REDACT_ALL, key.length + 16)
    expect(out).toBe(REDACT_ALL.mask(text))
    expect(out).toContain('[REDACTED]')
    expect(out).not.toContain('PRIVATE KEY')
  })

  it('finds an email, a card and an AWS key cut at every byte', async () => {
    const text = 'to jane.doe@example.com, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE.'
    const bytes = encoder.encode(text)
    const everyByte = Array.from({ length: bytes.length }, (_, i) => i)
    const { text: out } = await maskChunks(chunked(bytes, everyByte), REDACT_ALL, 32)
    expect(out).toBe('to [REDACTED], card [REDACTED], key [REDACTED].')
  })

  it('decodes multibyte UTF-8 split across chunks', async () => {
    const text = 'Zoë Müller — 日本語 😀 jane@example.com ✓'.repeat(20)
    const bytes = encoder.encode(text)
    const everyByte = Array.from({ length: bytes.length }, (_, i) => i)
    const { text: out } = await maskChunks(chunked(bytes, everyByte), REDACT_ALL, 24)
    expect(out).toBe('Zoë Müller — 日本語 😀 [REDACTED] ✓'.repeat(20))
  })

  it('never splits a surrogate pair at the emit boundary', async () => {
    const text = '😀'.repeat(500)
    const { text: out } = await maskChunks([encoder.encode(text)], REDACT_ALL, 3)
    expect(out).toBe(text)
  })

  it('passes invalid UTF-8 on as U+FFFD, as decoding the whole body would', async () => {
    const bytes = Uint8Array.of(0x61, 0xff, 0x62, 0xe2, 0x82)
    const { text: out } = await maskChunks(chunked(bytes, [1, 2, 4]))
    expect(out).toBe('a\uFFFDb\uFFFD')
  })

  it('keeps a byte order mark', async () => {
    const bytes = encoder.encode('\uFEFFjane@example.com')
    const out = await new Response(
      maskTextStream(streamOf([bytes]), REDACT_ALL, new Map())
    ).arrayBuffer()
    expect(new Uint8Array(out)).toEqual(encoder.encode('\uFEFF[REDACTED]'))
  })

  it('returns the body itself when the masker has no detectors', () => {
    const body = streamOf([encoder.encode('jane@example.com')])
    const inactive: TextMasker = { active: false, mask: (text) => text }
    expect(maskTextStream(body, inactive, new Map())).toBe(body)
  })

  it('refuses a masker that cannot mask windows', () => {
    const plain: TextMasker = { active: true, mask: (text) => text }
    expect(() => maskTextStream(streamOf([]), plain, new Map())).toThrow(TypeError)
  })

  it('masks exactly as masking the whole text at once, however the bytes are chunked', async () => {
    const sensitive = [
      'jane.doe+news@example.co.uk',
      '+44 20 7946 0018',
      '(202) 555-0143',
      '4111 1111 1111 1111',
      '378282246310005',
      'GB82 WEST 1234 5698 7654 32',
      'SSN 123-45-6789',
      'AKIAIOSFODNN7EXAMPLE',
      'Zx8Kp2Lm9Qr4Tv7Wy1Bn5Cd3Fg6Hj0',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
      pemBlock('PRIVATE KEY', 2),
    ]
    const ordinary = ['ORD-2024-000123', '2026-01-02T03:04:05Z', '$1,234.56', 'the', 'Zoë', '😀']
    const piece = fc.oneof(
      fc.constantFrom(...sensitive),
      fc.constantFrom(...ordinary),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.string({ unit: fc.constantFrom('a', 'Z', '7', '@', '.', '-', ' ', '+'), maxLength: 30 })
    )
    const separator = fc.constantFrom(' ', '\n', ', ', ' | ', '\t')
    const text = fc
      .array(fc.tuple(piece, separator), { maxLength: 40 })
      .map((parts) => parts.map(([part, sep]) => part + sep).join(''))
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom(220, 400, undefined),
        async (whole, cuts, maxMatchChars) => {
          const { text: out, tally } = await maskChunks(
            chunked(encoder.encode(whole), cuts),
            REDACT_ALL,
            maxMatchChars
          )
          expect(out).toBe(REDACT_ALL.mask(whole))
          expect(tally).toEqual(wholeTally(whole))
        }
      ),
      { numRuns: 300 }
    )
  })
})
