/**
 * The official MCP TypeScript SDK client, talking streamable HTTP to the Worker under test
 * through its real fetch handler (the transport takes a custom fetch), as an agent would.
 */

import { exports } from 'cloudflare:workers'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { GATEWAY } from './gateway.ts'

export const MCP_URL = `${GATEWAY}/mcp`

/** A connected client; `headers` are sent with every request (e.g. `Prefer: wait=0`). */
export async function mcpClient(
  token: string | undefined,
  headers: Record<string, string> = {}
): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    fetch: (url, init) => exports.default.fetch(new Request(url, init)),
    requestInit: {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    },
  })
  const client = new Client({ name: 'gatehouse-tests', version: '1.0.0' })
  await client.connect(transport)
  return client
}

export type ToolOutcome = CallToolResult & {
  structuredContent?: Record<string, unknown> & {
    error?: { code: string; message: string; data?: Record<string, unknown>; sessionId?: string }
    sessionId?: string
  }
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>
): Promise<ToolOutcome> {
  return (await client.callTool({ name, arguments: args })) as ToolOutcome
}

/** The first text content of a result. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0]
  return first?.type === 'text' ? first.text : ''
}
