/**
 * `ANY /proxy/:connection/*`: the HTTP protocol adapter. It opens a session for the
 * connection named in the path, hands the request to the shared pipeline
 * (proxy-request.ts), and puts the pipeline's answer (or refusal) back on the wire as HTTP.
 */
import { Hono } from 'hono'
import { type AppEnv, clientOf } from '../../app-env.ts'
import { jsonErrorResponse, toGatehouseError } from '../../errors.ts'
import type { Gateway } from '../../pipeline/gateway.ts'
import { openSession } from '../../pipeline/session.ts'
import { CONNECTION_NAME } from '../../policy/document.ts'
import { SESSION_HEADER } from './headers.ts'
import { approvalHeaders, httpHoldOptions } from './hold.ts'
import { PROXY_PREFIX, proxyThroughSession } from './proxy-request.ts'

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
    return await proxyThroughSession(session, gateway, {
      request,
      rawPath: `/${rest.join('/')}`,
      query: url.search.slice(1),
      hold: httpHoldOptions(request, gateway.config),
    })
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

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
