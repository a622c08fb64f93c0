/**
 * The MCP endpoint driven by the official SDK client over streamable HTTP: tools generated
 * from grants, SQL and HTTP through the same pipeline as the JSON APIs (blocked, masked,
 * recorded), and bad input refused with errors a model can act on, nothing forwarded.
 */

import { env } from 'cloudflare:workers'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deriveMaskingKey, maskFunction } from '../../src/masking/strategies.ts'
import {
  applyPolicy,
  mintToken,
  originUrl,
  putHttpConnection,
  sessionsOf,
  transcriptOf,
} from './support/gateway.ts'
import { callTool, mcpClient, textOf } from './support/mcp-client.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'
import { putPostgresConnection, queryAs } from './support/postgres-connections.ts'

const KEY = deriveMaskingKey(
  Uint8Array.from(atob(env.CREDENTIALS_KEY as string), (char) => char.charCodeAt(0))
)
const token = (value: string) => maskFunction('token', KEY)(value)

let bot: Client
let narrow: Client
let setupToken: string

async function putPostgres(name: string): Promise<void> {
  const response = await putPostgresConnection(name, { description: `${name}: the shop` })
  expect(response.status).toBe(201)
}

/** SQL as the setup agent, through the JSON API (may do anything on mcp-tools-setup). */
async function setupSql(sql: string): Promise<unknown[][]> {
  const response = await queryAs(setupToken, 'mcp-tools-setup', sql)
  const text = await response.text()
  expect(response.status, text).toBe(200)
  return (JSON.parse(text) as { rows: unknown[][] }).rows
}

beforeAll(async () => {
  await Promise.all([
    putPostgres('mcp-appdb'),
    putPostgres('mcp-maskdb'),
    putPostgres('mcp-tools-setup'),
  ])
  await putHttpConnection('mcp-web', { url: originUrl() })
  await applyPolicy({
    version: 1,
    connections: {
      'mcp-appdb': {
        grants: ['agent:mcp-bot'],
        approval: { approvers: ['idp:dba'] },
        rules: [
          {
            name: 'no-ddl',
            match: { classes: ['ddl', 'admin', 'privilege', 'unknown'] },
            action: 'block',
            reason: 'Schema changes go through migrations.',
          },
          {
            name: 'order-writes',
            match: { classes: ['write'], tables: ['orders'] },
            action: 'require_approval',
          },
          { name: 'reads', match: { classes: ['read'] }, action: 'allow' },
        ],
      },
      'mcp-maskdb': {
        grants: ['agent:mcp-bot'],
        default: 'allow',
        masking: { columns: { 'customers.email': 'token' }, detectors: { email: 'redact' } },
      },
      'mcp-web': {
        grants: ['agent:mcp-bot'],
        default: 'allow',
        rules: [
          {
            name: 'no-admin',
            match: { paths: ['/admin/**'] },
            action: 'block',
            reason: 'Admin is off limits.',
          },
        ],
      },
      'mcp-tools-setup': { grants: ['agent:mcp-tools-setup'], default: 'allow' },
    },
  })
  const [botToken, narrowToken, setup] = await Promise.all([
    mintToken('mcp-bot', ['*']),
    mintToken('mcp-bot', ['mcp-maskdb']),
    mintToken('mcp-tools-setup', ['mcp-tools-setup']),
  ])
  setupToken = setup.token
  await setupSql('CREATE TABLE IF NOT EXISTS mcp_tools_keep (id int PRIMARY KEY, note text)')
  await setupSql('INSERT INTO mcp_tools_keep VALUES (1, $$still here$$) ON CONFLICT DO NOTHING')
  ;[bot, narrow] = await Promise.all([mcpClient(botToken.token), mcpClient(narrowToken.token)])
})

afterAll(async () => {
  await Promise.all([bot?.close(), narrow?.close()])
})

describe('tools from grants', () => {
  it('lists list_connections, one tool per connection kind granted, and await_approval', async () => {
    const { tools } = await bot.listTools()
    expect(tools.map((tool) => tool.name)).toEqual([
      'list_connections',
      'query',
      'http_request',
      'await_approval',
    ])
    const query = tools.find((tool) => tool.name === 'query')
    expect(query?.inputSchema.properties?.connection).toMatchObject({
      enum: ['mcp-appdb', 'mcp-maskdb'],
    })
    expect(query?.inputSchema.required).toEqual(['connection', 'sql'])
    expect(query?.description).toContain(
      '- on mcp-appdb: blocked: DDL (CREATE, ALTER, DROP, TRUNCATE), admin statements (server files, COPY PROGRAM, extensions, settings), privilege changes (GRANT, REVOKE, roles), statements the parser cannot see through (DO blocks, dynamic SQL) (rule no-ddl: Schema changes go through migrations.); needs approval: writes (INSERT, UPDATE, DELETE, MERGE) touching orders (rule order-writes); allowed: reads (SELECT) (rule reads); anything else: blocked'
    )
    expect(query?.description).toContain(
      '- on mcp-maskdb: every command: allowed; masked in results: columns customers.email; values found by detectors (email)'
    )
    const http = tools.find((tool) => tool.name === 'http_request')
    expect(http?.inputSchema.properties?.connection).toMatchObject({ enum: ['mcp-web'] })
    expect(http?.description).toContain(
      '- on mcp-web: blocked: any request to /admin/** (rule no-admin: Admin is off limits.); anything else: allowed'
    )
  })

  it('shows a token scoped to one connection only that connection and its tool', async () => {
    const { tools } = await narrow.listTools()
    expect(tools.map((tool) => tool.name)).toEqual(['list_connections', 'query', 'await_approval'])
    expect(tools[1]?.inputSchema.properties?.connection).toMatchObject({ enum: ['mcp-maskdb'] })
    const listed = await callTool(narrow, 'list_connections', {})
    expect(listed.structuredContent).toEqual({
      connections: [
        {
          name: 'mcp-maskdb',
          kind: 'postgres',
          description: 'mcp-maskdb: the shop',
          tool: 'query',
          policy: [
            'every command: allowed',
            'masked in results: columns customers.email; values found by detectors (email)',
          ],
        },
      ],
    })
  })

  it('refuses the scoped token on another connection with access.denied, and records the refusal', async () => {
    const result = await callTool(narrow, 'query', { connection: 'mcp-appdb', sql: 'SELECT 1' })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toBe('access.denied: You are not allowed to use connection "mcp-appdb".')
    expect(result.structuredContent?.error).toEqual({
      code: 'access.denied',
      message: 'You are not allowed to use connection "mcp-appdb".',
    })
    const refused = (await sessionsOf('agent:mcp-bot')).find(
      (row) =>
        row.protocol === 'mcp' && row.connectionName === 'mcp-appdb' && row.outcome === 'refused'
    )
    expect(refused).toBeDefined()
    const events = await transcriptOf(refused?.id ?? '')
    expect(events[0]?.data).toMatchObject({
      protocol: 'mcp',
      tool: 'query',
      connection: 'mcp-appdb',
    })
    expect(events[1]).toMatchObject({ type: 'access.refused', data: { code: 'access.denied' } })
  })
})

describe('query', () => {
  it('runs an allowed statement against the real Postgres and returns typed rows', async () => {
    const result = await callTool(bot, 'query', {
      connection: 'mcp-appdb',
      // This file's own table: the shared shop's rows change under other test files.
      sql: 'SELECT id, 42.50::numeric AS total, note FROM mcp_tools_keep WHERE id <= $1 ORDER BY id',
      params: [1],
    })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({
      columns: [
        { name: 'id', type: 'int4' },
        { name: 'total', type: 'numeric' },
        { name: 'note', type: 'text' },
      ],
      rows: [[1, '42.50', 'still here']],
      rowCount: 1,
      command: 'SELECT 1',
      truncated: false,
    })
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent)
  })

  it('answers DROP TABLE with a policy.blocked tool error, and the table is still there', async () => {
    const result = await callTool(bot, 'query', {
      connection: 'mcp-appdb',
      sql: 'DROP TABLE mcp_tools_keep',
    })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toBe('policy.blocked: Schema changes go through migrations.')
    expect(result.structuredContent?.error).toMatchObject({
      code: 'policy.blocked',
      message: 'Schema changes go through migrations.',
      data: { rule: 'no-ddl' },
    })
    expect(await setupSql('SELECT note FROM mcp_tools_keep')).toEqual([['still here']])
  })

  it('returns emails masked as the policy says (column token, detector redact)', async () => {
    const result = await callTool(bot, 'query', {
      connection: 'mcp-maskdb',
      sql: 'SELECT id, email, notes FROM customers WHERE id IN (1, 3) ORDER BY id',
    })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({
      rows: [
        [1, token('ada@example.com'), 'prefers email'],
        [
          3,
          token('alan@example.com'),
          'rotated AKIAIOSFODNN7EXAMPLE; new key sk-proj-4f9Xk2LmQ8vT1rZ7pW3yB6nDq0; call [REDACTED]',
        ],
      ],
      masked: {
        columns: ['email', 'notes'],
        by: [
          { by: 'column:customers.email', count: 2 },
          { by: 'detector:email', count: 1 },
        ],
      },
    })
    expect(textOf(result)).not.toContain('example.com')
  })

  it('records the tool call with its arguments masked and a summary of the result', async () => {
    const result = await callTool(bot, 'query', {
      connection: 'mcp-maskdb',
      sql: 'SELECT id FROM customers WHERE email = $1',
      params: ['grace@example.com'],
    })
    expect(result.structuredContent).toMatchObject({ rows: [[2]] })
    const events = await transcriptOf(String(result.structuredContent?.sessionId))
    expect(events.map((event) => event.type)).toEqual([
      'session.start',
      'session.detail',
      'command',
      'outcome',
      'session.detail',
      'session.end',
    ])
    expect(events[0]?.data).toMatchObject({
      protocol: 'mcp',
      tool: 'query',
      connection: 'mcp-maskdb',
      caller: { id: 'agent:mcp-bot' },
    })
    expect(events[1]?.data).toEqual({
      tool: 'query',
      arguments: {
        connection: 'mcp-maskdb',
        sql: 'SELECT id FROM customers WHERE email = $1',
        params: ['[REDACTED]'],
        masked: [{ by: 'detector:email', count: 1 }],
      },
    })
    expect(events[2]?.data).toMatchObject({
      command: { kind: 'sql', via: 'api', params: ['[REDACTED]'] },
      decision: { action: 'allow' },
    })
    expect(events[4]?.data).toEqual({
      tool: 'query',
      result: { isError: false, command: 'SELECT 1', rowCount: 1, truncated: false },
    })
    const all = JSON.stringify(events)
    expect(all).not.toContain('grace@example.com')
  })

  it('passes origin errors back as query.failed with the SQLSTATE', async () => {
    const result = await callTool(bot, 'query', {
      connection: 'mcp-appdb',
      sql: 'SELECT no_such_column FROM orders',
    })
    expect(result.isError).toBe(true)
    expect(result.structuredContent?.error).toMatchObject({
      code: 'query.failed',
      message: 'column "no_such_column" does not exist',
      data: { sqlState: '42703' },
    })
  })
})

describe('http_request', () => {
  it('forwards an allowed request with the connection credential and returns the body as text', async () => {
    const marker = uniqueMarker('mcp-get')
    const result = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      path: '/echo/items?q=a b',
      headers: { 'x-test-marker': marker },
    })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({ status: 200, truncated: false })
    const arrivals = await arrivalsWith(marker)
    expect(arrivals).toHaveLength(1)
    expect(arrivals[0]).toMatchObject({ method: 'GET', url: '/echo/items?q=a%20b' })
    expect(arrivals[0]?.headers.authorization).toBeUndefined()
  })

  it('sends a body with the method given', async () => {
    const marker = uniqueMarker('mcp-post')
    const result = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      method: 'POST',
      path: '/echo/things',
      headers: { 'x-test-marker': marker, 'content-type': 'application/json' },
      body: '{"n":1}',
    })
    expect(result.structuredContent).toMatchObject({ status: 200 })
    expect(await arrivalsWith(marker)).toMatchObject([
      { method: 'POST', url: '/echo/things', body: '{"n":1}' },
    ])
  })

  it('blocks a request the policy blocks; nothing reaches the origin', async () => {
    const marker = uniqueMarker('mcp-admin')
    const result = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      method: 'DELETE',
      path: '/admin/users/1',
      headers: { 'x-test-marker': marker },
    })
    expect(textOf(result)).toBe('policy.blocked: Admin is off limits.')
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('refuses a path that escapes through dot segments, before any decision', async () => {
    const marker = uniqueMarker('mcp-dots')
    const result = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      path: '/public/../admin/users',
      headers: { 'x-test-marker': marker },
    })
    expect(result.structuredContent?.error?.code).toBe('request.ambiguous_path')
    expect(await arrivalsWith(marker)).toEqual([])
  })
})

describe('bad input', () => {
  it('answers an unknown tool with a JSON-RPC invalid-params error naming the tools there are', async () => {
    const error = await bot.callTool({ name: 'drop_everything', arguments: {} }).catch((e) => e)
    expect(error).toBeInstanceOf(McpError)
    expect(error).toMatchObject({
      code: -32602,
      message:
        'MCP error -32602: Unknown tool "drop_everything". Your tools: list_connections, query, http_request, await_approval.',
    })
  })

  it('answers a tool the caller has no connection for as unknown', async () => {
    const error = await narrow
      .callTool({ name: 'http_request', arguments: { connection: 'mcp-web', path: '/' } })
      .catch((e) => e)
    expect(error).toMatchObject({ code: -32602 })
  })

  it('answers wrong argument types with request.invalid naming each problem; nothing is run', async () => {
    const before = (await sessionsOf('agent:mcp-bot')).length
    const result = await callTool(bot, 'query', {
      connection: 'mcp-appdb',
      sql: 42,
      params: 'x',
      maxRows: 0,
    })
    expect(result.isError).toBe(true)
    expect(result.structuredContent?.error).toMatchObject({
      code: 'request.invalid',
      data: {
        issues: [
          { path: 'sql', message: 'Invalid input: expected string, received number' },
          { path: 'params', message: 'Invalid input: expected array, received string' },
          { path: 'maxRows', message: 'Too small: expected number to be >=1' },
        ],
      },
    })
    expect(textOf(result)).toBe(
      'request.invalid: Invalid arguments for query: sql: Invalid input: expected string, received number; params: Invalid input: expected array, received string; maxRows: Too small: expected number to be >=1. Nothing was run.'
    )
    expect((await sessionsOf('agent:mcp-bot')).length).toBe(before)
  })

  it('refuses unknown arguments and headers the gateway sets itself', async () => {
    const unknown = await callTool(bot, 'query', {
      connection: 'mcp-appdb',
      sql: 'SELECT 1',
      database: 'other',
    })
    expect(textOf(unknown)).toContain(
      'request.invalid: Invalid arguments for query: (arguments): Unrecognized key: "database"'
    )
    const marker = uniqueMarker('mcp-auth-header')
    const header = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      path: '/echo',
      headers: { Authorization: 'Bearer stolen', 'x-test-marker': marker },
    })
    expect(textOf(header)).toContain(
      "headers.Authorization: Authorization is set by the gateway (it injects the connection's credential itself)"
    )
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('refuses a body on GET and oversized fields', async () => {
    const withBody = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      path: '/echo',
      body: 'x',
    })
    expect(textOf(withBody)).toContain('body: GET and HEAD requests cannot carry a body')
    const longPath = await callTool(bot, 'http_request', {
      connection: 'mcp-web',
      path: `/${'a'.repeat(9000)}`,
    })
    expect(longPath.structuredContent?.error?.code).toBe('request.invalid')
    expect(textOf(longPath)).toContain('path: Too big: expected string to have <=8192 characters')
  })
})
