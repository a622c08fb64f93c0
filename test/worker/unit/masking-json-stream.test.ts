import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { JsonStreamError, MAX_JSON_DEPTH } from '../../../src/masking/json/json-grammar.ts'
import {
  compileJsonPaths,
  type JsonPathKey,
  parseJsonPath,
  selectingPath,
} from '../../../src/masking/json/json-path.ts'
import { JsonRewriter, type JsonRewriterOptions } from '../../../src/masking/json/json-rewriter.ts'
import { type JsonPathMask, maskJsonStream } from '../../../src/masking/json/json-stream-masker.ts'
import { maskFunction } from '../../../src/masking/strategies.ts'
import { createTextMasker } from '../../../src/masking/text-masker.ts'
import { DETECTOR_NAMES, type MaskTally, type TextMasker } from '../../../src/masking/types.ts'

const encoder = new TextEncoder()
const KEY = new Uint8Array(32).fill(1)
const decoder = new TextDecoder()

/** Detector stand-in: `secret-…` words are secrets, 16-digit numbers starting with 4 are cards. */
const DETECT: TextMasker = {
  active: true,
  mask(text, tally) {
    const masked = text
      .replace(/secret-\w+/g, () => count(tally, 'detector:secret', '[SECRET]'))
      .replace(/\b4\d{15}\b/g, () => count(tally, 'detector:card', '[CARD]'))
    return masked === text ? text : masked
  },
}
function count(tally: MaskTally | undefined, reason: string, replacement: string): string {
  tally?.set(reason, (tally.get(reason) ?? 0) + 1)
  return replacement
}
const NO_DETECTORS: TextMasker = { active: false, mask: (text) => text }
/** Active, so every token is read whole, but never finds anything. */
const BLIND: TextMasker = { active: true, mask: (text) => text }

function path(text: string, mask = (value: string) => `<${value}>`): JsonPathMask {
  return { path: parseJsonPath(text), reason: `path:${text}`, mask }
}

type Setup = Partial<JsonRewriterOptions>

/** Rewrites `input` fed in the given pieces; returns the output text and the tally. */
function rewrite(input: string | Uint8Array, setup: Setup = {}, cuts: number[] = []) {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input
  const tally: MaskTally = new Map()
  const rewriter = new JsonRewriter({ paths: [], text: NO_DETECTORS, tally, ...setup })
  const out: Uint8Array[] = []
  for (const chunk of chunked(bytes, cuts)) {
    const piece = rewriter.write(chunk)
    if (piece) out.push(piece.slice())
  }
  const last = rewriter.end()
  if (last) out.push(last)
  const joined = new Uint8Array(out.reduce((sum, piece) => sum + piece.length, 0))
  let at = 0
  for (const piece of out) {
    joined.set(piece, at)
    at += piece.length
  }
  return { bytes: joined, text: decoder.decode(joined), tally: Object.fromEntries(tally) }
}

/** Cuts `bytes` at the given points (taken modulo its length). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, point))
    at = point
  }
  return chunks
}

function failure(input: string, setup: Setup = {}): JsonStreamError {
  try {
    rewrite(input, setup)
  } catch (error) {
    expect(error).toBeInstanceOf(JsonStreamError)
    return error as JsonStreamError
  }
  throw new Error(`accepted ${JSON.stringify(input)}`)
}

describe('masking by path', () => {
  it('replaces strings and numbers at selected paths, leaving the rest byte for byte', () => {
    const input =
      '{ "users": [ {"email":"ada@x.io", "age": 36, "ok": true, "n": null},\n {"email": "g@y.io"} ], "email": "top@z.io" }'
    const { text, tally } = rewrite(input, { paths: [path('$.users[*].email'), path('$..age')] })
    expect(text).toBe(
      '{ "users": [ {"email":"<ada@x.io>", "age": "<36>", "ok": true, "n": null},\n {"email": "<g@y.io>"} ], "email": "top@z.io" }'
    )
    expect(tally).toEqual({ 'path:$.users[*].email': 2, 'path:$..age': 1 })
  })

  it('masks every string and number inside a selected object or array, keeping its shape', () => {
    const input =
      '{"user":{"name":"Ada","tags":["x",1.5e3,[false]],"admin":false,"none":null},"id":7}'
    expect(rewrite(input, { paths: [path('$.user')] }).text).toBe(
      '{"user":{"name":"<Ada>","tags":["<x>","<1.5e3>",[false]],"admin":false,"none":null},"id":7}'
    )
  })

  it('selects array elements by index and by wildcard', () => {
    const input = '{"rows":[["a","b"],["c","d"],["e"]]}'
    expect(rewrite(input, { paths: [path('$.rows[1][0]')] }).text).toBe(
      '{"rows":[["a","b"],["<c>","d"],["e"]]}'
    )
    expect(rewrite(input, { paths: [path('$.rows[*][1]')] }).text).toBe(
      '{"rows":[["a","<b>"],["c","<d>"],["e"]]}'
    )
  })

  it('selects at any depth with ..', () => {
    const input = '{"card":"1","a":{"card":{"number":"2"},"list":[{"card":"3"}]}}'
    expect(rewrite(input, { paths: [path('$..card')] }).text).toBe(
      '{"card":"<1>","a":{"card":{"number":"<2>"},"list":[{"card":"<3>"}]}}'
    )
    expect(rewrite(input, { paths: [path('$..card.number')] }).text).toBe(
      '{"card":"1","a":{"card":{"number":"<2>"},"list":[{"card":"3"}]}}'
    )
  })

  it('matches member names however they are written', () => {
    const input = '{"\\u0065mail":"a","emaiL":"b","émail":"c","email":"d"}'
    expect(rewrite(input, { paths: [path('$.email'), path('$.émail')] }).text).toBe(
      '{"\\u0065mail":"<a>","emaiL":"b","émail":"<c>","email":"<d>"}'
    )
  })

  it('masks a selected value with the outermost selecting rule', () => {
    const input = '{"a":{"b":"x"}}'
    const paths = [path('$.a.b', (v) => `inner:${v}`), path('$.a', (v) => `outer:${v}`)]
    expect(rewrite(input, { paths }).text).toBe('{"a":{"b":"outer:x"}}')
  })

  it('masks the whole document with $ and each line of a sequence', () => {
    expect(rewrite('"s"', { paths: [path('$')] }).text).toBe('"<s>"')
    const lines = '{"e":"a","k":1}\n{"e":"b"}\n\n"e"\n7 true\n'
    expect(rewrite(lines, { paths: [path('$.e')], sequence: true }).text).toBe(
      '{"e":"<a>","k":1}\n{"e":"<b>"}\n\n"e"\n7 true\n'
    )
  })

  it('hands the mask the number exactly as written', () => {
    const seen: string[] = []
    const mask = (value: string) => {
      seen.push(value)
      return 'm'
    }
    rewrite('[-0.50e+10, 12345678901234567890123, 0, -0]', { paths: [path('$[*]', mask)] })
    expect(seen).toEqual(['-0.50e+10', '12345678901234567890123', '0', '-0'])
  })

  it('decodes escapes before masking and encodes the result as JSON', () => {
    const seen: string[] = []
    const mask = (value: string) => {
      seen.push(value)
      return `[${value}]`
    }
    const { text } = rewrite('{"v":"caf\\u00e9 \\"q\\" \\ud83d\\ude00\\/\\n"}', {
      paths: [path('$.v', mask)],
    })
    expect(seen).toEqual(['café "q" 😀/\n'])
    expect(text).toBe('{"v":"[café \\"q\\" 😀/\\n]"}')
  })

  it('keeps a lone surrogate escaped when re-encoding', () => {
    const { text } = rewrite('["\\ud800x"]', { paths: [path('$[0]', (v) => `${v}!`)] })
    expect(text).toBe('["\\ud800x!"]')
    expect(JSON.parse(text)).toEqual(['\ud800x!'])
  })
})

describe('masking by detector', () => {
  it('masks strings, numbers and member names that detectors flag', () => {
    const input = '{"note":"key secret-abc rotated","card":4111111111111111,"secret-k":2,"n":41}'
    const { text, tally } = rewrite(input, { text: DETECT })
    expect(text).toBe('{"note":"key [SECRET] rotated","card":"[CARD]","[SECRET]":2,"n":41}')
    expect(tally).toEqual({ 'detector:secret': 2, 'detector:card': 1 })
  })

  it('matches paths on the member name as sent, before detectors rewrite it', () => {
    const input = '{"secret-k":"v"}'
    expect(rewrite(input, { text: DETECT, paths: [path("$['secret-k']")] }).text).toBe(
      '{"[SECRET]":"<v>"}'
    )
  })

  it('sees a secret hidden behind escapes and keeps unflagged escapes as sent', () => {
    const input = '["\\u0073ecret-x", "caf\\u00e9 \\"ok\\"", "\\u00e9"]'
    expect(rewrite(input, { text: DETECT }).text).toBe(
      '["[SECRET]", "caf\\u00e9 \\"ok\\"", "\\u00e9"]'
    )
  })

  it('applies path rules before detectors inside a selection', () => {
    const input = '{"a":{"x":"secret-1"},"b":"secret-2"}'
    expect(rewrite(input, { text: DETECT, paths: [path('$.a')] }).text).toBe(
      '{"a":{"x":"<secret-1>"},"b":"[SECRET]"}'
    )
  })
})

describe('byte fidelity', () => {
  it('passes any JSON through byte for byte when nothing is flagged', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (json, cuts) => {
        const input = encoder.encode(JSON.stringify(JSON.parse(json), null, 1))
        expect(rewrite(input, {}, cuts).bytes).toEqual(input)
        expect(rewrite(input, { text: BLIND }, cuts).bytes).toEqual(input)
      })
    )
  })

  it('passes a UTF-8 BOM and any whitespace through', () => {
    const input = encoder.encode('\ufeff \t\r\n{ "a" :\n[ 1 , "x" ] }\n')
    expect(rewrite(input, { text: BLIND }).bytes).toEqual(input)
  })

  it('treats an empty body as nothing to mask', () => {
    expect(rewrite('', { text: DETECT }).text).toBe('')
    expect(rewrite('  \n', { text: DETECT }).text).toBe('  \n')
  })
})

describe('chunking', () => {
  const key = fc.oneof(
    fc.constantFrom('email', 'card', 'a', 'secret-key', 'é', ''),
    fc.string({ maxLength: 4 })
  )
  const text = fc.oneof(
    fc.constantFrom('secret-abc', 'see secret-9 now', 'café ☕', '😀', 'q"b\\c\n\t', '\u2028'),
    fc.string({ unit: 'binary', maxLength: 10 })
  )
  const number = fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constant(4111111111111111)
  )
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      text,
      number,
      fc.boolean(),
      fc.constant(null),
      tie('array'),
      tie('object')
    ),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  }))
  const serialization = fc.constantFrom('compact', 'pretty', 'escaped')
  const paths = [path('$..email'), path('$.a[*]'), path('$..[1]'), path('$.card')]

  it('gives the same output for any chunking, and the masked document', () => {
    fc.assert(
      fc.property(
        value,
        serialization,
        fc.constantFrom(DETECT, NO_DETECTORS),
        fc.array(fc.nat(), { maxLength: 8 }),
        (doc, form, text, cuts) => {
          const json = serialize(doc, form)
          const whole = rewrite(json, { paths, text })
          const pieces = rewrite(json, { paths, text }, cuts)
          expect(pieces.text).toBe(whole.text)
          expect(pieces.tally).toEqual(whole.tally)
          expect(JSON.parse(whole.text)).toEqual(model(JSON.parse(json), paths, text))
        }
      ),
      { numRuns: 300 }
    )
  })
})

function serialize(doc: unknown, form: string): string {
  if (form === 'pretty') return JSON.stringify(doc, null, 2)
  const compact = JSON.stringify(doc)
  if (form === 'compact') return compact
  // Non-ASCII only occurs inside strings and names, where \u escapes mean the same.
  return compact.replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
}

/** What masking means, on parsed values: the reference the rewriter is checked against. */
function model(doc: unknown, paths: JsonPathMask[], text: TextMasker): unknown {
  const matcher = compileJsonPaths(paths.map((p) => p.path))
  const walk = (value: unknown, keys: JsonPathKey[], outer: JsonPathMask | undefined): unknown => {
    const rule = outer ?? paths[selectingPath(matcher, keys)]
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...keys, i], rule))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [text.mask(k), walk(v, [...keys, k], rule)])
      )
    }
    if (typeof value === 'string') return rule ? rule.mask(value) : text.mask(value)
    if (typeof value === 'number') {
      const literal = JSON.stringify(value)
      const masked = rule ? rule.mask(literal) : text.mask(literal)
      return masked === literal ? value : masked
    }
    return value
  }
  return walk(doc, [], undefined)
}

describe('invalid JSON', () => {
  it.each([
    ['{"a":1,}', 7],
    ['[1 2]', 3],
    ['{"a" 1}', 5],
    ['{a:1}', 1],
    ['tru', 3],
    ['[nul]', 4],
    ['01', 1],
    ['1.', 2],
    ['[1.e5]', 3],
    ['-', 1],
    ['"\\x"', 2],
    ['"\\u12g4"', 5],
    ['"a\u0001"', 2],
    ['[1]]', 3],
    ['{]', 1],
    ['"open', 5],
    ['{"a":1', 6],
    ['{} x', 3],
    ['{}{}', 2],
    ['+1', 0],
  ])('stops %j at byte %i', (input, offset) => {
    const error = failure(input, { text: DETECT })
    expect(error.offset).toBe(offset)
    expect(error.code).toBe('masking.invalid_body')
    expect(error.message).not.toContain(input)
  })

  it('requires whitespace between values of a sequence', () => {
    expect(failure('{}{}', { sequence: true }).offset).toBe(2)
    expect(failure('1"x"', { sequence: true }).offset).toBe(1)
  })

  it('refuses nesting deeper than the cap', () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1)
    expect(failure(deep).offset).toBe(MAX_JSON_DEPTH)
    expect(rewrite(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`).text).toHaveLength(
      2 * MAX_JSON_DEPTH
    )
  })

  it('refuses a string it must read that exceeds the cap, and passes one it need not read', () => {
    const input = `{"a":"${'x'.repeat(100)}"}`
    expect(failure(input, { text: BLIND, maxStringBytes: 64 }).offset).toBe(107)
    expect(() => rewrite(input, { text: BLIND, maxStringBytes: 64 }, [20, 40, 60, 80])).toThrow(
      JsonStreamError
    )
    expect(rewrite(input, { maxStringBytes: 64 }).text).toBe(input)
  })
})

describe('maskJsonStream', () => {
  function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
        controller.close()
      },
    })
  }

  it('streams the masked body and fills the tally', async () => {
    const tally: MaskTally = new Map()
    const body = maskJsonStream(streamOf(['{"e":"a@', 'x.io","n":"secr', 'et-1"}']), {
      paths: [path('$.e')],
      text: DETECT,
      tally,
    })
    expect(await new Response(body).text()).toBe('{"e":"<a@x.io>","n":"[SECRET]"}')
    expect(Object.fromEntries(tally)).toEqual({ 'path:$.e': 1, 'detector:secret': 1 })
  })

  it('errors the stream at invalid JSON, sending nothing from the failing chunk on', async () => {
    const body = maskJsonStream(streamOf(['{"a":"secret-1",', '"b":2}', ' secret-3 ']), {
      paths: [],
      text: DETECT,
      tally: new Map(),
    })
    const reader = body.getReader()
    const received: string[] = []
    let failed: unknown
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        received.push(decoder.decode(value))
      }
    } catch (error) {
      failed = error
    }
    expect(failed).toBeInstanceOf(JsonStreamError)
    expect(received.join('')).toBe('{"a":"[SECRET]","b":2}')
  })

  it('masks a 50 MB body with the real detectors in bounded memory, streaming as it goes', async () => {
    const record = (n: number) =>
      `{"id":${n},"email":"user${n}@example.com","note":"card 4111 1111 1111 1111 on file","amount":${n * 1.5},"ok":true},`
    const total = 50 * 1024 * 1024
    let produced = 0
    let n = 0
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= total) {
          controller.enqueue(encoder.encode('{"id":-1}]'))
          controller.close()
          return
        }
        let chunk = produced === 0 ? '[' : ''
        while (chunk.length < 64 * 1024) chunk += record(n++)
        produced += chunk.length
        controller.enqueue(encoder.encode(chunk))
      },
    })
    const tally: MaskTally = new Map()
    const started = performance.now()
    const text = createTextMasker(new Map(DETECTOR_NAMES.map((name) => [name, 'redact'])), KEY)
    const paths = [path('$[*].email', maskFunction('redact', KEY))]
    const reader = maskJsonStream(source, { paths, text, tally }).getReader()
    let bytes = 0
    let tail = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
      tail = (tail + decoder.decode(value.subarray(-40))).slice(-40)
    }
    const seconds = (performance.now() - started) / 1000
    console.log(`JSON masking, every detector on: ${(produced / 1e6 / seconds).toFixed(1)} MB/s`)
    expect(tail.endsWith('"ok":true},{"id":-1}]')).toBe(true)
    expect(Object.fromEntries(tally)).toEqual({ 'path:$[*].email': n, 'detector:card': n })
    expect(bytes).toBeGreaterThan(total * 0.75)
  }, 120_000)

  it('passes a 50 MB string it need not read without holding it', async () => {
    const piece = encoder.encode('x'.repeat(1024 * 1024))
    let sent = 0
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(encoder.encode('{"big":"'))
        if (sent === 50) {
          controller.enqueue(encoder.encode('","id":"7"}'))
          controller.close()
          return
        }
        sent++
        controller.enqueue(piece)
      },
    })
    const reader = maskJsonStream(source, {
      paths: [path('$.id')],
      text: NO_DETECTORS,
      tally: new Map(),
    }).getReader()
    let bytes = 0
    let last = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
      last = decoder.decode(value)
    }
    expect(bytes).toBe(50 * 1024 * 1024 + 8 + '","id":"<7>"}'.length)
    expect(last).toBe('","id":"<7>"}')
  }, 60_000)
})
