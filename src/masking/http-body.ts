/**
 * Masks HTTP bodies on their way to the caller, choosing by media type: JSON (and JSON
 * Lines) by path and detectors, text by detectors, and anything else by detectors when
 * its first bytes turn out to be text (APIs mislabel JSON as octet-stream often enough).
 * Compressed bodies are decoded first and sent as identity; a coding that cannot be
 * decoded is refused, so no unmasked byte leaves.
 */
import { GatehouseError } from '../errors.ts'
import { type BodyMasker, UNMASKED } from '../pipeline/mask.ts'
import { type JsonPathMask, maskJsonStream } from './json/json-stream-masker.ts'
import { maskTextStream } from './text-stream.ts'
import type { MaskTally, TextMasker } from './types.ts'

export type HttpBodyMaskerOptions = {
  paths: readonly JsonPathMask[]
  text: TextMasker
  tally: MaskTally
  /** The detectors in force, named in the X-Gatehouse-Masking header. */
  detectors?: readonly string[]
}

/** Tells the caller that masking rules were in force: `paths=2; detectors=email,card`. */
export const MASKING_HEADER = 'x-gatehouse-masking'

/** Content codings DecompressionStream decodes (RFC 9110 §8.4.1; x-gzip is gzip). */
const DECODERS = new Map<string, 'gzip' | 'deflate' | null>([
  ['identity', null],
  ['gzip', 'gzip'],
  ['x-gzip', 'gzip'],
  ['deflate', 'deflate'],
])

/** Response headers that describe the origin's bytes, not the masked identity body. */
const STALE_HEADERS = [
  'content-encoding',
  'content-length',
  'content-md5',
  'digest',
  'repr-digest',
  'content-digest',
  'accept-ranges',
]

/** How many bytes of an unlabelled or binary-typed body decide whether it is text. */
export const SNIFF_BYTES = 512

/** How a body is read, by its media type. */
/** `events`: Server-Sent Events, masked event by event so none waits for the next. */
export type BodyKind = 'json' | 'json-lines' | 'events' | 'text' | 'other'

const JSON_LINES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
])
const JSON_TYPES = new Set(['application/json', 'text/json', 'text/x-json'])
/** Text in all but name; `text/*`, `+xml` and `+json` suffixes are recognised separately. */
const TEXT_TYPES = new Set([
  'application/xml',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/x-www-form-urlencoded',
  'application/graphql',
  'application/graphql-response+json',
  'application/sql',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/json-seq',
  'application/jwt',
  'application/x-pem-file',
  'application/pem-certificate-chain',
  'application/x-sh',
  'application/csv',
])

/** The kind of body a Content-Type names; a missing one is read as text. */
export function bodyKindOf(contentType: string | null): BodyKind {
  const essence = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
  if (essence === '') return 'text'
  if (essence === 'text/event-stream') return 'events'
  if (JSON_LINES.has(essence)) return 'json-lines'
  if (JSON_TYPES.has(essence) || essence.endsWith('+json')) return 'json'
  if (essence.startsWith('text/') || essence.endsWith('+xml') || TEXT_TYPES.has(essence)) {
    return 'text'
  }
  return 'other'
}

/**
 * A masker for HTTP bodies under these rules; UNMASKED when there are none. `tally`
 * counts what was masked as bodies stream, and is complete once they end.
 */
export function createHttpBodyMasker(options: HttpBodyMaskerOptions): BodyMasker {
  if (options.paths.length === 0 && !options.text.active) return UNMASKED
  const description = describeRules(options)
  return {
    active: true,
    requestHeaders(headers) {
      headers.set('accept-encoding', 'gzip, deflate')
      headers.delete('range')
      headers.delete('if-range')
    },
    mask(body, headers) {
      const kind = bodyKindOf(headers.get('content-type'))
      const out = new Headers(headers)
      out.set(MASKING_HEADER, description)
      const decoded = decode(body, headers.get('content-encoding'))
      for (const name of STALE_HEADERS) out.delete(name)
      // The bytes differ from the origin's, so the entity tag can only claim weak equality.
      const etag = out.get('etag')
      if (etag && !etag.startsWith('W/')) out.set('etag', `W/${etag}`)
      // Paths only apply to JSON: with no detectors, other bodies pass (decoded) as they are.
      const scanned = options.text.active || kind === 'json' || kind === 'json-lines'
      return { body: scanned ? maskByKind(decoded, kind, options) : decoded, headers: out }
    },
  }
}

function describeRules(options: HttpBodyMaskerOptions): string {
  const detectors = options.detectors?.length
    ? options.detectors.join(',')
    : options.text.active
      ? 'on'
      : 'none'
  return `paths=${options.paths.length}; detectors=${detectors}`
}

/** Undoes the content codings, last applied first; refuses (cancelling `body`) any other. */
function decode(
  body: ReadableStream<Uint8Array>,
  contentEncoding: string | null
): ReadableStream<Uint8Array> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '')
  const unknown = codings.find((coding) => !DECODERS.has(coding))
  if (unknown !== undefined) {
    body.cancel().catch(() => {})
    throw new GatehouseError(
      'masking.unsupported_encoding',
      'The origin answered with a content encoding the gateway cannot decode, so it cannot be masked.',
      { detail: `content-encoding: ${contentEncoding}` }
    )
  }
  let decoded = body
  for (const coding of codings.reverse()) {
    const format = DECODERS.get(coding)
    if (format) decoded = decoded.pipeThrough(new DecompressionStream(format))
  }
  return decoded
}

function maskByKind(
  body: ReadableStream<Uint8Array>,
  kind: BodyKind,
  options: HttpBodyMaskerOptions
): ReadableStream<Uint8Array> {
  const { paths, text, tally } = options
  switch (kind) {
    case 'json':
      return maskJsonStream(body, { paths, text, tally })
    case 'json-lines':
      return maskJsonStream(body, { paths, text, tally, sequence: true })
    case 'text':
      return maskTextStream(body, text, tally)
    case 'events':
      return maskTextStream(body, text, tally, { flushAfter: '\n\n' })
    case 'other':
      return maskIfText(body, (rest) => maskTextStream(rest, text, tally))
  }
}

/**
 * Reads up to SNIFF_BYTES, then sends the body through `maskText` if they are text and
 * unchanged if not (images, archives, PDFs: detectors cannot read inside them anyway).
 */
function maskIfText(
  body: ReadableStream<Uint8Array>,
  maskText: (body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>
): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const route = async () => {
    const reader = body.getReader()
    const head: Uint8Array[] = []
    let size = 0
    while (size < SNIFF_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      head.push(value)
      size += value.length
    }
    reader.releaseLock()
    const rest = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        start(controller) {
          for (const chunk of head) controller.enqueue(chunk)
        },
      })
    )
    await (looksLikeText(head) ? maskText(rest) : rest).pipeTo(writable)
  }
  route().catch((error: unknown) => writable.abort(error).catch(() => {}))
  return readable
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** Valid UTF-8 (a sequence cut at the end aside) without control bytes other than whitespace. */
export function looksLikeText(chunks: readonly Uint8Array[]): boolean {
  let total = 0
  for (const chunk of chunks) total += chunk.length
  const head = new Uint8Array(Math.min(total, SNIFF_BYTES))
  let at = 0
  for (const chunk of chunks) {
    if (at === head.length) break
    const part = chunk.subarray(0, head.length - at)
    head.set(part, at)
    at += part.length
  }
  for (const byte of head) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c)
      return false
    if (byte === 0x7f) return false
  }
  // A multi-byte character cut by the sniff window is not evidence of binary.
  for (let trim = 0; trim < 4 && trim <= head.length; trim++) {
    try {
      fatalDecoder.decode(head.subarray(0, head.length - trim))
      return true
    } catch {
      if (total <= SNIFF_BYTES) return false
    }
  }
  return false
}
