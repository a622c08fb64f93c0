/**
 * Request bodies under a hard size limit, with nothing forwarded when the limit is
 * broken. Small bodies are read whole and recorded before forwarding (they are part of
 * the command); large ones with a declared length stream through, hashed on the way.
 * A body without a declared length is read up to the limit first, because once bytes
 * have been streamed to the origin a 413 could no longer un-send them.
 */
import { concatBytes, sha256Hex, toBase64, toHex } from '../../encoding.ts'
import { GatehouseError } from '../../errors.ts'

export type RecordedBody = {
  bytes: number
  sha256: string
  /** The body itself when small enough: as text when it decodes as UTF-8, else base64. */
  text?: string
  base64?: string
}

export type PreparedBody =
  | { kind: 'none' }
  | { kind: 'buffered'; bytes: Uint8Array; record: RecordedBody }
  | {
      kind: 'streamed'
      length: number
      stream: ReadableStream<Uint8Array>
      /** Size and hash, known once the origin has read the whole body. */
      digest: Promise<{ bytes: number; sha256: string }>
      /** Bytes passed to the origin so far. */
      progress: () => number
    }

export type BodyLimits = { maxBodyBytes: number; inlineBodyBytes: number }

export async function prepareRequestBody(
  request: Request,
  limits: BodyLimits
): Promise<PreparedBody> {
  if (request.body === null) return { kind: 'none' }
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (!/^\d+$/.test(declared)) {
      throw new GatehouseError('request.invalid', 'Content-Length must be a decimal number.')
    }
    const length = Number(declared)
    if (length > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes)
    if (length === 0) return { kind: 'none' }
    if (length > limits.inlineBodyBytes) return streamWithDigest(request.body, length)
  }
  const bytes = await readAtMost(request.body, limits.maxBodyBytes)
  if (bytes.length === 0) return { kind: 'none' }
  return { kind: 'buffered', bytes, record: await recordBody(bytes, limits.inlineBodyBytes) }
}

async function recordBody(bytes: Uint8Array, inlineLimit: number): Promise<RecordedBody> {
  const record: RecordedBody = { bytes: bytes.length, sha256: await sha256Hex(bytes) }
  if (bytes.length > inlineLimit) return record
  try {
    record.text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    record.base64 = toBase64(bytes)
  }
  return record
}

/** Reads the whole body, refusing as soon as it exceeds `limit` bytes. */
async function readAtMost(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  return concatBytes(chunks)
}

/** Passes a declared-length body through, hashing it; the origin sees the same Content-Length. */
function streamWithDigest(body: ReadableStream<Uint8Array>, length: number): PreparedBody {
  const hasher = new crypto.DigestStream('SHA-256')
  const writer = hasher.getWriter()
  let bytes = 0
  let resolveDigest: (value: { bytes: number; sha256: string }) => void = () => {}
  let rejectDigest: (reason: unknown) => void = () => {}
  const digest = new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
    resolveDigest = resolve
    rejectDigest = reject
  })
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      bytes += chunk.byteLength
      await writer.write(chunk)
      controller.enqueue(chunk)
    },
    async flush() {
      await writer.close()
      resolveDigest({ bytes, sha256: toHex(new Uint8Array(await hasher.digest)) })
    },
  })
  const fixed = new FixedLengthStream(length)
  body
    .pipeThrough(tap)
    .pipeTo(fixed.writable)
    .catch((error) => rejectDigest(error))
  return { kind: 'streamed', length, stream: fixed.readable, digest, progress: () => bytes }
}

function tooLarge(limit: number): GatehouseError {
  return new GatehouseError(
    'request.too_large',
    `The request body is larger than this connection allows (${limit} bytes).`
  )
}
