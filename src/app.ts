/**
 * The whole request path at a glance. Every request gets a Gateway (config, storage,
 * clock); data-path routes authenticate the caller and hand commands to the shared
 * pipeline; the admin API sits behind its own door; every error leaves as JSON.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { adminRoutes } from './admin/routes.ts'
import type { AppEnv } from './app-env.ts'
import { approvalApiRoutes } from './approvals/api-routes.ts'
import { approvalPageRoutes } from './approvals/page/routes.ts'
import { slackRoutes } from './approvals/slack/routes.ts'
import { consoleRoutes } from './console/routes.ts'
import { type ErrorCode, GatehouseError, jsonErrorResponse, toGatehouseError } from './errors.ts'
import { signingKeyRoutes } from './evidence/routes.ts'
import { approverLoginRoutes } from './identity/approver-login.ts'
import { requireCaller } from './identity/middleware.ts'
import { whoami } from './identity/whoami.ts'
import { PROTECTED_RESOURCE_PATH, protectedResourceMetadata } from './mcp/protected-resource.ts'
import { mcpRoutes } from './mcp/routes.ts'
import { createGateway } from './pipeline/gateway.ts'
import { httpProxyRoutes } from './protocols/http/routes.ts'
import { queryRoutes } from './protocols/postgres/query-api.ts'
import { execRoutes } from './protocols/ssh/exec/exec-api.ts'
import { sshHostKeyRoutes } from './protocols/ssh/host-key-route.ts'
import { tunnelRoutes } from './protocols/tunnel/routes.ts'

export const app = new Hono<AppEnv>()

app.use(async (c, next) => {
  c.set(
    'gateway',
    createGateway(c.env, (promise) => c.executionCtx.waitUntil(promise), c.req.url)
  )
  await next()
})

app.get('/healthz', (c) => c.json({ ok: true }))
app.route('/.well-known/gatehouse/signing-keys', signingKeyRoutes)
app.route('/.well-known/gatehouse/ssh-host-key', sshHostKeyRoutes)

app.route('/proxy', httpProxyRoutes)
app.route('/v1/connections', tunnelRoutes)
app.route('/v1/connections', queryRoutes)
app.route('/v1/connections', execRoutes)
app.route('/mcp', mcpRoutes)
app.get(PROTECTED_RESOURCE_PATH, protectedResourceMetadata)
app.get('/v1/whoami', requireCaller('api'), whoami)
app.route('/v1/approvals', approvalApiRoutes)
app.route('/v1/admin', adminRoutes)
app.route('/slack', slackRoutes)
app.route('/approvals', approvalPageRoutes)
app.route('/auth', approverLoginRoutes)
app.route('/ui', consoleRoutes)

app.notFound((c) =>
  jsonErrorResponse(
    new GatehouseError(
      'resource.not_found',
      `Nothing here: ${c.req.method} ${new URL(c.req.url).pathname}`
    )
  )
)

app.onError((thrown, c) => {
  const error =
    thrown instanceof HTTPException ? fromHttpException(thrown) : toGatehouseError(thrown)
  const log = {
    code: error.code,
    status: error.status,
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    detail: error.detail,
  }
  if (error.status >= 500) console.error('gatehouse error', log)
  else console.warn('gatehouse refusal', log)
  return jsonErrorResponse(error)
})

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: 'request.invalid',
  404: 'resource.not_found',
  413: 'request.too_large',
  415: 'request.unsupported_media_type',
}

function fromHttpException(exception: HTTPException): GatehouseError {
  return new GatehouseError(
    HTTP_EXCEPTION_CODES[exception.status] ?? 'internal',
    exception.message,
    {
      cause: exception,
    }
  )
}
