/**
 * Sends the canonical request to the origin and streams its answer back. Redirects are
 * returned, never followed (following one could reach a host the policy never saw), and
 * a Location pointing back into the target is rewritten to the gateway's own path.
 */
import { HttpCredential, type HttpTarget } from '../../connections/connection.ts'
import { GatehouseError } from '../../errors.ts'
import type { ForwardContext, Forwarded } from '../../pipeline/session.ts'
import type { Outcome } from '../../pipeline/types.ts'
import type { CanonicalPath } from './canonical-path.ts'
import { SESSION_HEADER, toCallerHeaders, toOriginHeaders } from './headers.ts'
import type { PreparedBody } from './request-body.ts'

/** After the response ends, how long to wait for a streamed request body's digest. */
const DIGEST_GRACE_MS = 100

export type OriginRequest = {
  target: HttpTarget
  method: string
  path: CanonicalPath
  query: string
  headers: Headers
  body: PreparedBody
  /** Where this connection is reachable on the gateway, e.g. https://gw.example/proxy/api */
  gatewayBase: string
  defaultTimeoutMs: number
}

export async function forwardHttp(
  context: ForwardContext,
  request: OriginRequest
): Promise<Forwarded<Response>> {
  const { target } = request
  const credential = HttpCredential.nullable().parse(await context.credential())
  const base = new URL(target.url)
  const url = new URL(base)
  url.pathname = joinPaths(base.pathname, request.path.encoded)
  url.search = request.query ? `?${request.query}` : ''

  const timeoutMs = target.timeoutMs ?? request.defaultTimeoutMs
  const abort = new AbortController()
  const timer = setTimeout(
    () => abort.abort(new DOMException('origin timeout', 'TimeoutError')),
    timeoutMs
  )
  const originHeaders = toOriginHeaders(request.headers, credential, context.sessionId)
  context.masker.requestHeaders?.(originHeaders)
  let response: Response
  try {
    response = await fetch(url, {
      method: request.method,
      headers: originHeaders,
      body: bodyInit(request.body),
      redirect: 'manual',
      signal: abort.signal,
      // workerd would otherwise decode gzip and br itself yet keep their headers (and the
      // compressed Content-Length): take the origin's bytes as they are. A masker decodes
      // (or refuses) them knowingly; an unmasked body is passed on still encoded.
      encodeResponseBody: 'manual',
    })
  } catch (error) {
    throw originFailure(error, abort.signal, timeoutMs)
  } finally {
    // The timeout covers waiting for the response head; long downloads are not cut off.
    clearTimeout(timer)
  }

  const headers = toCallerHeaders(response.headers)
  headers.set(SESSION_HEADER, context.sessionId)
  rewriteLocation(headers, base, request.gatewayBase)

  const summary = { status: response.status }
  if (response.body === null) {
    return {
      result: new Response(null, { status: response.status, headers }),
      settled: bodyBytes(request.body, Promise.resolve()).then((up) => ({
        status: 'ok',
        summary,
        bytesUp: up.bytes,
        bytesDown: 0,
      })),
    }
  }
  // A masker that may change the length drops Content-Length; an untouched body keeps it.
  const masked = context.masker.mask(response.body, headers)
  const { stream, done } = observeBody(masked.body, masked.headers.get('content-length'))
  const bytesUp = bodyBytes(request.body, done)
  const settled: Promise<Outcome> = Promise.all([bytesUp, done]).then(([up, down]) => ({
    status: down.complete ? 'ok' : 'error',
    summary: { ...summary, ...(up.sha256 ? { requestBodySha256: up.sha256 } : {}) },
    ...(down.complete ? {} : { errorCode: 'origin.stream_aborted' }),
    bytesUp: up.bytes,
    bytesDown: down.bytes,
  }))
  // Bytes still carrying their Content-Encoding go out as they came, not encoded twice.
  const encoded = (masked.headers.get('content-encoding') ?? 'identity') !== 'identity'
  return {
    result: new Response(stream, {
      status: response.status,
      headers: masked.headers,
      ...(encoded ? { encodeBody: 'manual' as const } : {}),
    }),
    settled,
  }
}

function bodyInit(body: PreparedBody): BodyInit | null {
  switch (body.kind) {
    case 'none':
      return null
    case 'buffered':
      return body.bytes
    case 'streamed':
      return body.stream
  }
}

/** How much of the request body the origin took. A streamed body's digest is known once
 * the origin has read it all; an origin that answers without reading it gets no hash. */
async function bodyBytes(
  body: PreparedBody,
  responseDone: Promise<unknown>
): Promise<{ bytes: number; sha256?: string }> {
  switch (body.kind) {
    case 'none':
      return { bytes: 0 }
    case 'buffered':
      return { bytes: body.bytes.length }
    case 'streamed': {
      const unread = responseDone
        .then(() => new Promise((resolve) => setTimeout(resolve, DIGEST_GRACE_MS)))
        .then(() => ({ bytes: body.progress() }))
      return Promise.race([body.digest, unread]).catch(() => ({ bytes: body.progress() }))
    }
  }
}

/**
 * Observes the response body on its way to the caller: how many bytes, and whether it
 * ended cleanly. A body of known length goes through workerd's native FixedLengthStream
 * (no JavaScript per chunk, and the caller still gets a Content-Length); only bodies of
 * unknown length are counted chunk by chunk.
 */
function observeBody(
  body: ReadableStream<Uint8Array>,
  declaredLength: string | null
): { stream: ReadableStream<Uint8Array>; done: Promise<{ bytes: number; complete: boolean }> } {
  const length =
    declaredLength !== null && /^\d+$/.test(declaredLength) ? Number(declaredLength) : null
  if (length !== null) {
    const fixed = new FixedLengthStream(length)
    const done = body.pipeTo(fixed.writable).then(
      () => ({ bytes: length, complete: true }),
      () => ({ bytes: 0, complete: false })
    )
    return { stream: fixed.readable, done }
  }
  let bytes = 0
  let finish: (value: { bytes: number; complete: boolean }) => void = () => {}
  const done = new Promise<{ bytes: number; complete: boolean }>((resolve) => {
    finish = resolve
  })
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength
      controller.enqueue(chunk)
    },
    flush() {
      finish({ bytes, complete: true })
    },
    cancel() {
      finish({ bytes, complete: false })
    },
  })
  body.pipeTo(counter.writable).catch(() => finish({ bytes, complete: false }))
  return { stream: counter.readable, done }
}

function joinPaths(basePath: string, path: string): string {
  return `${basePath.replace(/\/+$/, '')}${path}`
}

function rewriteLocation(headers: Headers, base: URL, gatewayBase: string): void {
  const location = headers.get('location')
  if (!location) return
  let resolved: URL
  try {
    resolved = new URL(location, base)
  } catch {
    return
  }
  const basePath = base.pathname.replace(/\/+$/, '')
  if (resolved.origin !== base.origin) return
  if (resolved.pathname !== basePath && !resolved.pathname.startsWith(`${basePath}/`)) return
  headers.set(
    'location',
    `${gatewayBase}${resolved.pathname.slice(basePath.length) || '/'}${resolved.search}`
  )
}

function originFailure(error: unknown, signal: AbortSignal, timeoutMs: number): GatehouseError {
  if (signal.aborted) {
    return new GatehouseError(
      'origin.timeout',
      `The origin did not answer within ${timeoutMs} ms.`,
      {
        cause: error,
      }
    )
  }
  return new GatehouseError('origin.unreachable', 'The origin could not be reached.', {
    detail: error instanceof Error ? error.message : String(error),
    cause: error,
  })
}
