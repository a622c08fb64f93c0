/**
 * An MCP client as an agent runtime would run it: the official TypeScript SDK over real
 * streamable HTTP to the running dev stack. SQL on the seeded shop (appdb, maskdb) and
 * HTTP on the demo API, with the demo approver deciding a payment through the approvals API.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'

type Outcome = CallToolResult & {
  structuredContent?: Record<string, unknown> & {
    error?: { code: string; message: string; data?: { approvalId?: string } }
  }
}

const clients: Client[] = []

async function connect(token: string | undefined): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${inject('gatewayUrl')}/mcp`), {
    requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} },
  })
  const client = new Client({ name: 'gatehouse-e2e', version: '1.0.0' })
  await client.connect(transport)
  clients.push(client)
  return client
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  return (await client.callTool({ name, arguments: args })) as Outcome
}

function text(result: CallToolResult): string {
  const first = result.content[0]
  return first?.type === 'text' ? first.text : ''
}

let shop: Client
let masked: Client
let demo: Client

beforeAll(async () => {
  ;[shop, masked, demo] = await Promise.all([
    connect(inject('postgresAgentToken')),
    connect(inject('postgresMaskedToken')),
    connect(inject('agentToken')),
  ])
})

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()))
})

describe('MCP over streamable HTTP against the dev stack', () => {
  it('lists the tools of what the token may use', async () => {
    expect((await shop.listTools()).tools.map((tool) => tool.name)).toEqual([
      'list_connections',
      'query',
      'await_approval',
    ])
    expect((await demo.listTools()).tools.map((tool) => tool.name)).toEqual([
      'list_connections',
      'http_request',
      'await_approval',
    ])
    const listed = await call(shop, 'list_connections', {})
    expect(listed.structuredContent).toMatchObject({
      connections: [{ name: 'appdb', kind: 'postgres', tool: 'query' }],
    })
  })

  it('runs an allowed query, blocks DROP TABLE, and the table is still there', async () => {
    // Whether the table exists, not its row count: other test files write to the shop.
    const present = "SELECT to_regclass('public.orders')::text AS t"
    const rows = await call(shop, 'query', { connection: 'appdb', sql: present })
    expect(rows.structuredContent).toMatchObject({ rows: [['orders']], command: 'SELECT 1' })

    const drop = await call(shop, 'query', { connection: 'appdb', sql: 'DROP TABLE orders' })
    expect(drop.isError).toBe(true)
    expect(text(drop)).toBe('policy.blocked: Agents may not change the schema or privileges.')

    const after = await call(shop, 'query', { connection: 'appdb', sql: present })
    expect(after.structuredContent).toMatchObject({ rows: [['orders']] })
  })

  it('returns e-mails masked on maskdb', async () => {
    const result = await call(masked, 'query', {
      connection: 'maskdb',
      sql: 'SELECT email FROM customers ORDER BY id',
    })
    const rows = result.structuredContent?.rows as string[][]
    expect(rows).toHaveLength(3)
    for (const [email] of rows) expect(email).toMatch(/^tok_[A-Za-z0-9_-]+$/)
    expect(text(result)).not.toContain('@example.com')
  })

  it('holds a payment for approval; the demo approver approves it; await_approval sends it', async () => {
    const ref = crypto.randomUUID()
    const held = await call(demo, 'http_request', {
      connection: 'demo',
      method: 'POST',
      path: `/payments?ref=${ref}`,
      headers: { 'content-type': 'application/json' },
      body: '{"amount":4200}',
    })
    expect(held.structuredContent?.error?.code).toBe('approval.pending')
    const approvalId = held.structuredContent?.error?.data?.approvalId ?? ''
    expect(text(held)).toContain(`call await_approval with {"approvalId": "${approvalId}"}`)

    const decision = await fetch(`${inject('gatewayUrl')}/v1/approvals/${approvalId}/decision`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${inject('approverToken')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ verdict: 'approve', comment: 'e2e: mcp' }),
    })
    expect(decision.status, await decision.clone().text()).toBe(200)

    const sent = await call(demo, 'await_approval', { approvalId })
    expect(sent.isError, text(sent)).toBeFalsy()
    expect(sent.structuredContent).toMatchObject({ status: 201 })
    const again = await call(demo, 'await_approval', { approvalId })
    expect(again.structuredContent?.error?.code).toBe('approval.used')
  })

  it('refuses a client without a token with 401 and the resource metadata', async () => {
    const response = await fetch(`${inject('gatewayUrl')}/mcp`, {
      method: 'POST',
      headers: {
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
      },
      body: '{}',
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="gatehouse", resource_metadata="${inject('gatewayUrl')}/.well-known/oauth-protected-resource/mcp"`
    )
    await expect(connect(undefined)).rejects.toMatchObject({ code: 401 })
  })
})
