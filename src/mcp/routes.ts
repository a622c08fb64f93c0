/**
 * `/mcp`: the Model Context Protocol over streamable HTTP (MCP 2025-11-25, §Transports),
 * stateless. The caller authenticates as on every data path (an agent token or an OIDC
 * token); then a fresh server and transport answer the JSON-RPC message of the POST on
 * an SSE stream of its own, which carries progress while a call waits for approval.
 * With no sessions there is nothing to stream on GET or to end with DELETE: both are 405.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { Hono } from 'hono'
import { type AppEnv, clientOf } from '../app-env.ts'
import { requireCaller } from '../identity/middleware.ts'
import { resourceMetadataChallenge } from './protected-resource.ts'
import { createMcpServer } from './server.ts'

/** Largest JSON-RPC request body; larger ones get 413 before anything is parsed. */
export const MAX_MCP_BODY_BYTES = 1024 * 1024

export const mcpRoutes = new Hono<AppEnv>()

// MCP §Transports, security: a browser page on another origin (DNS rebinding) is refused.
mcpRoutes.use(async (c, next) => {
  const origin = c.req.header('origin')
  const allowed = [new URL(c.req.url).origin, new URL(c.var.gateway.publicUrl).origin]
  if (origin !== undefined && !allowed.includes(origin)) {
    return jsonRpcError(403, 'Forbidden: requests from web pages on other origins are refused.')
  }
  await next()
})
mcpRoutes.use(resourceMetadataChallenge)
mcpRoutes.use(requireCaller('mcp'))

mcpRoutes.post('/', async (c) => {
  const server = createMcpServer({
    gateway: c.var.gateway,
    caller: c.var.caller,
    authorization: c.req.header('authorization') ?? '',
    client: clientOf(c.req.raw),
    request: c.req.raw,
  })
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    maxRequestBodySize: MAX_MCP_BODY_BYTES,
  })
  await server.connect(transport)
  return transport.handleRequest(c.req.raw)
})

mcpRoutes.on(['GET', 'DELETE'], '/', () =>
  jsonRpcError(
    405,
    'Method not allowed: this MCP server is stateless; send each JSON-RPC message with POST.',
    { allow: 'POST' }
  )
)

/** A transport-level refusal in the shape the SDK's own use: JSON-RPC error -32000, no id. */
function jsonRpcError(status: number, message: string, headers: Record<string, string> = {}) {
  return Response.json(
    { jsonrpc: '2.0', error: { code: -32000, message }, id: null },
    { status, headers }
  )
}
