import { describe, expect, it } from 'vitest'
import { GatehouseError } from '../../../src/errors.ts'
import {
  bodyKindOf,
  createHttpBodyMasker,
  type HttpBodyMaskerOptions,
  looksLikeText,
  MASKING_HEADER,
  SNIFF_BYTES,
} from '../../../src/masking/http-body.ts'
import { JsonStreamError } from '../../../src/masking/json/json-grammar.ts'
import { parseJsonPath } from '../../../src/masking/json/json-path.ts'
import { REDACTED } from '../../../src/masking/strategies.ts'
import { createTextMasker } from '../../../src/masking/text-masker.ts'
import type { MaskTally, TextMasker } from '../../../src/masking/types.ts'
import { UNMASKED } from '../../../src/pipeline/mask.ts'

const encoder = new TextEncoder()
const KEY = new Uint8Array(32).fill(7)
const EMAILS = createTextMasker(new Map([['email', 'redact']]), KEY)
const NO_DETECTORS: TextMasker = { active: false, mask: (text) => text }

function masker(options: Partial<HttpBodyMaskerOptions> = {}) {
  const tally: MaskTally = new Map()
  const created = createHttpBodyMasker({
    paths: [{ path: parseJsonPath('$.id'), reason: 'path:$.id', mask: (v) => `<${v}>` }],
    text: EMAILS,
    tally,
    detectors: ['email'],
    ...options,
  })
  return { masker: created, tally }
}

function streamOf(bytes: Uint8Array | string, chunk = 7): ReadableStream<Uint8Array> {
  const all = typeof bytes === 'string' ? encoder.encode(bytes) : bytes
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= all.length) return controller.close()
      controller.enqueue(all.slice(at, at + chunk))
      at += chunk
    },
  })
}

async function compressed(text: string, format: 'gzip' | 'deflate'): Promise<Uint8Array> {
  const stream = streamOf(text, 1 << 20).pipeThrough(new CompressionStream(format))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

const JSON_BODY = '{"id":42,"contact":"ada@example.com","ok":true}'
const JSON_MASKED = `{"id":"<42>","contact":"${REDACTED}","ok":true}`

describe('createHttpBodyMasker', () => {
  it('is UNMASKED when there are no paths and no detectors', () => {
    expect(createHttpBodyMasker({ paths: [], text: NO_DETECTORS, tally: new Map() })).toBe(UNMASKED)
  })

  it('asks the origin for codings it can decode, and never for a byte range', () => {
    const headers = new Headers({
      'accept-encoding': 'br, zstd',
      range: 'bytes=0-9',
      'if-range': 'x',
    })
    masker().masker.requestHeaders?.(headers)
    expect([...headers]).toEqual([['accept-encoding', 'gzip, deflate']])
  })

  it('masks JSON by path and detector and rewrites the headers that described the origin bytes', async () => {
    const { masker: body, tally } = masker()
    const headers = new Headers({
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(JSON_BODY.length),
      etag: '"v1"',
      'content-md5': 'abc',
      'accept-ranges': 'bytes',
      'cache-control': 'no-store',
    })
    const out = body.mask(streamOf(JSON_BODY), headers)
    expect(await new Response(out.body).text()).toBe(JSON_MASKED)
    expect(Object.fromEntries(out.headers)).toEqual({
      'content-type': 'application/json; charset=utf-8',
      etag: 'W/"v1"',
      'cache-control': 'no-store',
      [MASKING_HEADER]: 'paths=1; detectors=email',
    })
    expect(Object.fromEntries(tally)).toEqual({ 'path:$.id': 1, 'detector:email': 1 })
    expect(headers.get('content-length')).toBe(String(JSON_BODY.length))
  })

  it.each([
    ['application/problem+json', JSON_BODY, JSON_MASKED],
    ['application/x-ndjson', `${JSON_BODY}\n${JSON_BODY}\n`, `${JSON_MASKED}\n${JSON_MASKED}\n`],
    ['application/jsonl', `${JSON_BODY}\n`, `${JSON_MASKED}\n`],
    ['text/plain', 'id 42 mail ada@example.com', `id 42 mail ${REDACTED}`],
    ['text/html', `<p>${JSON_BODY}</p>`, `<p>{"id":42,"contact":"${REDACTED}","ok":true}</p>`],
    ['application/xml', '<a>ada@example.com</a>', `<a>${REDACTED}</a>`],
    ['application/x-www-form-urlencoded', 'to=ada@example.com', `to=${REDACTED}`],
    ['application/octet-stream', 'mislabelled ada@example.com', `mislabelled ${REDACTED}`],
  ])('reads %s by its kind', async (type, input, expected) => {
    const out = masker().masker.mask(streamOf(input), new Headers({ 'content-type': type }))
    expect(await new Response(out.body).text()).toBe(expected)
  })

  it('reads a body without a content type as text', async () => {
    const out = masker().masker.mask(streamOf('ada@example.com'), new Headers())
    expect(await new Response(out.body).text()).toBe(REDACTED)
  })

  it('passes binary bodies through byte for byte, even with text inside', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])
    const bytes = new Uint8Array([...png, ...encoder.encode('ada@example.com'.repeat(100))])
    const out = masker().masker.mask(
      streamOf(bytes, 100),
      new Headers({ 'content-type': 'image/png' })
    )
    expect(new Uint8Array(await new Response(out.body).arrayBuffer())).toEqual(bytes)
  })

  it('leaves non-JSON bodies unscanned when only paths are in force', async () => {
    const { masker: paths } = masker({ text: NO_DETECTORS, detectors: [] })
    const out = paths.mask(
      streamOf('ada@example.com'),
      new Headers({ 'content-type': 'text/plain' })
    )
    expect(await new Response(out.body).text()).toBe('ada@example.com')
    expect(out.headers.get(MASKING_HEADER)).toBe('paths=1; detectors=none')
  })

  it.each([
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['GZIP, identity', 'gzip'],
  ] as const)('decodes content-encoding %s and sends identity', async (coding, format) => {
    const origin = await compressed(JSON_BODY, format)
    const headers = new Headers({
      'content-type': 'application/json',
      'content-encoding': coding,
      'content-length': String(origin.length),
    })
    const out = masker().masker.mask(streamOf(origin, 5), headers)
    expect(await new Response(out.body).text()).toBe(JSON_MASKED)
    expect(out.headers.get('content-encoding')).toBeNull()
    expect(out.headers.get('content-length')).toBeNull()
  })

  it('undoes stacked codings last applied first', async () => {
    const once = await compressed(JSON_BODY, 'deflate')
    const twice = new Uint8Array(
      await new Response(streamOf(once).pipeThrough(new CompressionStream('gzip'))).arrayBuffer()
    )
    const headers = new Headers({
      'content-type': 'application/json',
      'content-encoding': 'deflate, gzip',
    })
    const out = masker().masker.mask(streamOf(twice), headers)
    expect(await new Response(out.body).text()).toBe(JSON_MASKED)
  })

  it.each(['br', 'zstd', 'compress', 'gzip, br', 'constructor'])(
    'refuses content-encoding %s and cancels the origin body',
    (coding) => {
      let cancelled = false
      const origin = new ReadableStream<Uint8Array>({
        cancel() {
          cancelled = true
        },
      })
      const headers = new Headers({
        'content-type': 'application/json',
        'content-encoding': coding,
      })
      let thrown: unknown
      try {
        masker().masker.mask(origin, headers)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(GatehouseError)
      expect((thrown as GatehouseError).code).toBe('masking.unsupported_encoding')
      expect((thrown as GatehouseError).status).toBe(502)
      expect(cancelled).toBe(true)
    }
  )

  it('errors the body when a JSON response is not JSON', async () => {
    const out = masker().masker.mask(
      streamOf('{"contact":"ada@example.com"} trailing'),
      new Headers({ 'content-type': 'application/json' })
    )
    await expect(new Response(out.body).text()).rejects.toBeInstanceOf(JsonStreamError)
  })

  it('names the detectors in force, or says they are on when it cannot', () => {
    const { masker: unnamed } = masker({ paths: [], detectors: undefined })
    const out = unnamed.mask(streamOf(''), new Headers())
    expect(out.headers.get(MASKING_HEADER)).toBe('paths=0; detectors=on')
  })
})

describe('server-sent events', () => {
  it('sends each masked event as soon as it is complete, not when the stream ends', async () => {
    let push: (text: string) => void = () => {}
    const origin = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (text) => controller.enqueue(encoder.encode(text))
      },
    })
    const { body } = masker().masker.mask(
      origin,
      new Headers({ 'content-type': 'text/event-stream' })
    )
    const reader = body.getReader()
    push('data: {"to":"ada@example.com"}\n\ndata: partial')
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe(`data: {"to":"${REDACTED}"}\n\n`)
    await reader.cancel()
  })
})

describe('bodyKindOf', () => {
  it.each([
    [null, 'text'],
    ['', 'text'],
    ['application/json', 'json'],
    ['Application/JSON; charset=UTF-8', 'json'],
    ['application/vnd.api+json', 'json'],
    ['text/json', 'json'],
    ['application/x-ndjson', 'json-lines'],
    ['application/jsonl; charset=utf-8', 'json-lines'],
    ['text/event-stream', 'events'],
    ['application/soap+xml', 'text'],
    ['application/javascript', 'text'],
    ['application/graphql', 'text'],
    ['image/png', 'other'],
    ['application/pdf', 'other'],
    ['application/octet-stream', 'other'],
  ])('reads %j as %s', (type, kind) => {
    expect(bodyKindOf(type)).toBe(kind)
  })
})

describe('looksLikeText', () => {
  it('takes UTF-8 text as text, even with a character cut by the sniff window', () => {
    const text = encoder.encode(`${'a'.repeat(SNIFF_BYTES - 1)}é and more`)
    expect(looksLikeText([text])).toBe(true)
    expect(looksLikeText([encoder.encode('line\r\n\ttab')])).toBe(true)
  })

  it('takes NUL and other control bytes, or invalid UTF-8, as binary', () => {
    expect(looksLikeText([new Uint8Array([0x61, 0x00, 0x62])])).toBe(false)
    expect(looksLikeText([new Uint8Array([0x61, 0xff, 0x62])])).toBe(false)
    expect(looksLikeText([new Uint8Array([0x61, 0xc3])])).toBe(false)
  })
})
