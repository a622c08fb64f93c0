/**
 * `ANY /proxy/:connection/*`: the HTTP protocol adapter. It turns a request into an
 * HttpCommand, hands it to the shared pipeline, and puts the pipeline's answer (or
 * refusal) back on the wire as HTTP.
 */
import { Hono } from 'hono'
import { type AppEnv, clientOf } from '../../app-env.ts'
import { HttpTarget } from '../../connections/connection.ts'
import { GatehouseError, jsonErrorResponse, toGatehouseError } from '../../errors.ts'
import type { Gateway } from '../../pipeline/gateway.ts'
import { openSession } from '../../pipeline/session.ts'
import type { BodyRecord, HttpCommand } from '../../pipeline/types.ts'
import { CONNECTION_NAME } from '../../policy/document.ts'
import { canonicalizePath } from './canonical-path.ts'
import { forwardHttp } from './forward.ts'
import { headersForTranscript, SESSION_HEADER } from './headers.ts'
import { approvalHeaders, httpHoldOptions } from './hold.ts'
import { type PreparedBody, prepareRequestBody } from './request-body.ts'

const PROXY_PREFIX = '/proxy/'

export const httpProxyRoutes = new Hono<AppEnv>()

httpProxyRoutes.all('/:connection/*', (c) => proxyRequest(c.req.raw, c.var.gateway))
httpProxyRoutes.all('/:connection', (c) => proxyRequest(c.req.raw, c.var.gateway))

async function proxyRequest(request: Request, gateway: Gateway): Promise<Response> {
  const url = new URL(request.url)
  // Split the normalised URL ourselves: the name and the rest must come from the same bytes.
  const [rawName = '', ...rest] = url.pathname.slice(PROXY_PREFIX.length).split('/')
  const connectionName = CONNECTION_NAME.test(rawName) ? rawName : decodeURIComponentSafe(rawName)

  const session = await openSession(gateway, {
    authorization: request.headers.get('authorization'),
    connectionName,
    protocol: 'http',
    kinds: ['http'],
    client: clientOf(request),
  })
  try {
    const target = HttpTarget.parse(session.connection.target)
    let command: HttpCommand
    let body: PreparedBody
    let path: ReturnType<typeof canonicalizePath>
    try {
      path = canonicalizePath(`/${rest.join('/')}`)
      if ((request.method === 'GET' || request.method === 'HEAD') && hasBody(request)) {
        throw new GatehouseError(
          'request.invalid',
          `${request.method} requests cannot carry a body.`
        )
      }
      body = await prepareRequestBody(request, {
        maxBodyBytes: target.maxBodyBytes ?? gateway.config.limits.maxBodyBytes,
        inlineBodyBytes: gateway.config.limits.inlineBodyBytes,
      })
      command = {
        kind: 'http',
        method: request.method,
        path: path.decoded,
        query: url.search.slice(1),
        headers: headersForTranscript(request.headers),
        body: bodyRecord(body),
      }
    } catch (error) {
      const refusal = toGatehouseError(error)
      session.recordRefusal(refusal)
      throw refusal
    }
    return await session.run(
      command,
      (context) =>
        forwardHttp(context, {
          target,
          method: request.method,
          path,
          query: command.query,
          headers: request.headers,
          body,
          gatewayBase: `${gateway.config.publicUrl ?? url.origin}${PROXY_PREFIX}${connectionName}`,
          defaultTimeoutMs: gateway.config.limits.originTimeoutMs,
        }),
      httpHoldOptions(request, gateway.config)
    )
  } catch (error) {
    const refusal = toGatehouseError(error)
    return jsonErrorResponse(refusal, {
      [SESSION_HEADER]: session.id,
      ...approvalHeaders(refusal),
    })
  } finally {
    gateway.waitUntil(session.close())
  }
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

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
