/**
 * Who may talk to /mcp: the same bearer tokens as every data path (agent tokens, OIDC
 * tokens), a 401 that points to the RFC 9728 protected-resource metadata, and requests
 * the stateless transport refuses before any tool runs (wrong method, oversized body).
 */
import { env } from 'cloudflare:workers'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { personToken } from './support/approvals.ts'
import {
  adminJson,
  applyPolicy,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  sessionsOf,
  transcriptOf,
} from './support/gateway.ts'
import { callTool, mcpClient, textOf } from './support/mcp-client.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

const METADATA_URL = 'https://gatehouse.test/.well-known/oauth-protected-resource/mcp'

let agentToken: string

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
}

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch('/mcp', {
    method: 'POST',
    headers: {
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      ...headers,
    },
    body,
  })
}

beforeAll(async () => {
  await putHttpConnection('mcp-auth-web', { url: originUrl() })
  await applyPolicy({
    version: 1,
    connections: {
      'mcp-auth-web': {
        grants: ['agent:mcp-auth-bot', 'user:erin@example.com'],
        default: 'allow',
      },
    },
  })
  ;({ token: agentToken } = await mintToken('mcp-auth-bot', ['*']))
})

describe('authentication', () => {
  it('answers a request without a token 401 with a Bearer challenge naming the resource metadata', async () => {
    const response = await post(JSON.stringify(INITIALIZE))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="gatehouse", resource_metadata="${METADATA_URL}"`
    )
    expect(await response.json()).toEqual({
      error: {
        code: 'auth.missing_token',
        message:
          'Send a Gatehouse agent token or an OIDC access token as "Authorization: Bearer <token>".',
      },
    })
  })

  it('answers a forged token 401 invalid_token, and the SDK client cannot connect', async () => {
    const response = await post(JSON.stringify(INITIALIZE), {
      authorization: 'Bearer gha_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="gatehouse", error="invalid_token", resource_metadata="${METADATA_URL}"`
    )
    const refused = await mcpClient(undefined).catch((error: Error) => error)
    expect(refused).toMatchObject({ code: 401 })
    expect((refused as Error).message).toContain('"code":"auth.missing_token"')
  })

  it('refuses the bootstrap admin token: it only opens the admin API', async () => {
    const response = await post(JSON.stringify(INITIALIZE), {
      authorization: `Bearer ${env.ADMIN_TOKEN}`,
    })
    expect(response.status).toBe(401)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'auth.invalid_token'
    )
  })

  it('serves the RFC 9728 protected-resource metadata without a token', async () => {
    const response = await gatewayFetch('/.well-known/oauth-protected-resource/mcp')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      resource: 'https://gatehouse.test/mcp',
      authorization_servers: [inject('oidcIssuer')],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
    })
  })

  it('accepts an OIDC bearer token and lists the tools its grants give', async () => {
    const erin = await personToken('erin', [], 'erin@example.com')
    const client = await mcpClient(erin)
    try {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toEqual([
        'list_connections',
        'http_request',
        'await_approval',
      ])
      const marker = uniqueMarker('mcp-oidc')
      const result = await callTool(client, 'http_request', {
        connection: 'mcp-auth-web',
        path: '/echo/oidc',
        headers: { 'x-test-marker': marker },
      })
      expect(result.structuredContent).toMatchObject({ status: 200 })
      expect(await arrivalsWith(marker)).toHaveLength(1)
      const events = await transcriptOf(String(result.structuredContent?.sessionId))
      expect(events[0]?.data).toMatchObject({
        protocol: 'mcp',
        tool: 'http_request',
        caller: { id: 'user:erin', via: 'oidc' },
      })
    } finally {
      await client.close()
    }
  })

  it('refuses a token revoked after it connected on its next request, and records it', async () => {
    const { token, id } = await mintToken('mcp-auth-bot', ['*'])
    const client = await mcpClient(token)
    try {
      await adminJson('POST', `/tokens/${id}/revoke`)
      const error = await client.listTools().catch((thrown: Error) => thrown)
      expect(error).toMatchObject({ code: 401 })
      expect((error as Error).message).toContain('"code":"auth.revoked_token"')
      const refused = (await sessionsOf('agent:mcp-auth-bot')).find(
        (row) => row.protocol === 'mcp' && row.outcome === 'refused'
      )
      const events = await transcriptOf(refused?.id ?? '')
      expect(events[1]).toMatchObject({
        type: 'access.refused',
        data: { code: 'auth.revoked_token' },
      })
    } finally {
      await client.close()
    }
  })
})

describe('transport', () => {
  let client: Awaited<ReturnType<typeof mcpClient>>
  beforeAll(async () => {
    client = await mcpClient(agentToken)
  })
  afterAll(async () => {
    await client?.close()
  })

  it('answers GET and DELETE 405: the server is stateless, there is no stream to open', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await gatewayFetch('/mcp', {
        method,
        headers: { authorization: `Bearer ${agentToken}`, accept: 'text/event-stream' },
      })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } })
    }
  })

  it('refuses a request from a web page on another origin 403, before authentication', async () => {
    const foreign = await post(JSON.stringify(INITIALIZE), {
      authorization: `Bearer ${agentToken}`,
      origin: 'https://evil.example',
    })
    expect(foreign.status).toBe(403)
    expect(await foreign.json()).toEqual({
      jsonrpc: '2.0',
      error: {
        code: -32000,
        message: 'Forbidden: requests from web pages on other origins are refused.',
      },
      id: null,
    })
    const own = await post(JSON.stringify(INITIALIZE), {
      authorization: `Bearer ${agentToken}`,
      origin: 'https://gatehouse.test',
    })
    expect(own.status).toBe(200)
    await own.body?.cancel()
  })

  it('answers a body over 1 MiB 413 with a JSON-RPC error, and runs nothing', async () => {
    const marker = uniqueMarker('mcp-huge')
    const call = {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'http_request',
        arguments: {
          connection: 'mcp-auth-web',
          method: 'POST',
          path: '/echo/huge',
          headers: { 'x-test-marker': marker },
          body: 'x'.repeat(1024 * 1024),
        },
      },
    }
    const response = await post(JSON.stringify(call), {
      authorization: `Bearer ${agentToken}`,
      'mcp-protocol-version': '2025-11-25',
    })
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({
      jsonrpc: '2.0',
      error: { code: -32000, message: expect.stringMatching(/1048576 bytes/) },
      id: null,
    })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('refuses an argument over its own limit as a tool error, before anything is sent', async () => {
    const marker = uniqueMarker('mcp-big-body')
    const result = await callTool(client, 'http_request', {
      connection: 'mcp-auth-web',
      method: 'POST',
      path: '/echo/big',
      headers: { 'x-test-marker': marker },
      body: 'x'.repeat(600 * 1024),
    })
    expect(result.structuredContent?.error?.code).toBe('request.invalid')
    expect(textOf(result)).toContain('body: Too big: expected string to have <=524288 characters')
    expect(await arrivalsWith(marker)).toEqual([])
  })
})
