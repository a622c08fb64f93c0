/**
 * One HTTP request through an open session: canonical path, bounded body, HttpCommand,
 * then decide → write ahead → hold → forward → mask. Shared by the proxy route and the
 * MCP `http_request` tool, so both are blocked, masked and recorded the same way.
 */
import { HttpTarget } from '../../connections/connection.ts'
import { GatehouseError, toGatehouseError } from '../../errors.ts'
import type { Gateway } from '../../pipeline/gateway.ts'
import type { HoldOptions } from '../../pipeline/pause.ts'
import type { GatewaySession } from '../../pipeline/session.ts'
import type { BodyRecord, HttpCommand } from '../../pipeline/types.ts'
import { canonicalizePath } from './canonical-path.ts'
import { forwardHttp } from './forward.ts'
import { headersForTranscript } from './headers.ts'
import { type PreparedBody, prepareRequestBody } from './request-body.ts'

export const PROXY_PREFIX = '/proxy/'

export type ProxiedRequest = {
  /** Method, headers and body; its URL is not read. */
  request: Request
  /** The path after `/proxy/<connection>`, as sent (percent-encoded), starting with `/`. */
  rawPath: string
  /** The query string without `?`, as sent. */
  query: string
  hold: HoldOptions
}

/** Refusals are recorded on the session and thrown as GatehouseErrors; the caller closes it. */
export async function proxyThroughSession(
  session: GatewaySession,
  gateway: Gateway,
  proxied: ProxiedRequest
): Promise<Response> {
  const { request } = proxied
  const target = HttpTarget.parse(session.connection.target)
  let command: HttpCommand
  let body: PreparedBody
  let path: ReturnType<typeof canonicalizePath>
  try {
    path = canonicalizePath(proxied.rawPath)
    if ((request.method === 'GET' || request.method === 'HEAD') && hasBody(request)) {
      throw new GatehouseError('request.invalid', `${request.method} requests cannot carry a body.`)
    }
    body = await prepareRequestBody(request, {
      maxBodyBytes: target.maxBodyBytes ?? gateway.config.limits.maxBodyBytes,
      inlineBodyBytes: gateway.config.limits.inlineBodyBytes,
    })
    command = {
      kind: 'http',
      method: request.method,
      path: path.decoded,
      query: proxied.query,
      headers: headersForTranscript(request.headers),
      body: bodyRecord(body),
    }
  } catch (error) {
    const refusal = toGatehouseError(error)
    session.recordRefusal(refusal)
    throw refusal
  }
  return session.run(
    command,
    (context) =>
      forwardHttp(context, {
        target,
        method: request.method,
        path,
        query: command.query,
        headers: request.headers,
        body,
        gatewayBase: `${gateway.publicUrl}${PROXY_PREFIX}${session.connection.name}`,
        defaultTimeoutMs: gateway.config.limits.originTimeoutMs,
      }),
    proxied.hold
  )
}

function bodyRecord(body: PreparedBody): BodyRecord | null {
  switch (body.kind) {
    case 'none':
      return null
    case 'buffered':
      return body.record
    case 'streamed':
      return { bytes: body.length, streamed: true }
  }
}

function hasBody(request: Request): boolean {
  const length = request.headers.get('content-length')
  return length !== null ? length !== '0' : request.headers.has('transfer-encoding')
}
