/**
 * The MCP `exec` tool against the real sshd, through the SDK client: listed with its
 * policy for SSH connections, the exec API's own pipeline (output, blocked commands that
 * never run, masked output), and an approval replayed by await_approval.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decideWith, personToken } from './support/approvals.ts'
import { applyPolicy, mintToken } from './support/gateway.ts'
import { callTool, mcpClient, textOf } from './support/mcp-client.ts'
import { execRequest, putSshConnection, sshd } from './support/ssh.ts'

let client: Client
let token: string

beforeAll(async () => {
  expect((await putSshConnection('mcp-box')).status).toBe(201)
  await applyPolicy({
    version: 1,
    connections: {
      'mcp-box': {
        grants: ['agent:mcp-ssh-bot'],
        rules: [
          {
            name: 'no-rm-root',
            action: 'block',
            match: { programs: ['rm'], options: ['r', 'R', 'recursive'], args: ['/', '/*'] },
            reason: 'Deleting the root file system is never allowed.',
          },
          {
            name: 'restarts-need-approval',
            action: 'require_approval',
            match: { programs: ['systemctl'], args: ['restart'] },
            approvers: ['idp:sre'],
          },
          { name: 'everything-else', action: 'allow' },
        ],
        masking: { detectors: { email: 'redact' } },
      },
    },
  })
  ;({ token } = await mintToken('mcp-ssh-bot', ['*']))
  client = await mcpClient(token)
})

afterAll(async () => {
  await client?.close()
})

async function exists(path: string): Promise<boolean> {
  const response = await execRequest('mcp-box', token, {
    command: `test -e ${path} && echo yes || echo no`,
  })
  return ((await response.json()) as { stdout: string }).stdout.trim() === 'yes'
}

describe('MCP exec tool', () => {
  it('is listed for SSH connections with their policy in words', async () => {
    const { tools } = await client.listTools()
    const exec = tools.find((tool) => tool.name === 'exec')
    expect(exec?.description).toContain('on mcp-box:')
    expect(exec?.description).toMatch(/rm/)
    expect(JSON.stringify(exec?.inputSchema)).toContain('mcp-box')
    expect(tools.map((tool) => tool.name)).not.toContain('query')
  })

  it('runs a command and returns its output, exit status and masked values', async () => {
    const result = await callTool(client, 'exec', {
      connection: 'mcp-box',
      command: 'echo ada@example.com; exit 2',
    })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({ exitCode: 2, timedOut: false })
    const stdout = (result.structuredContent as { stdout: string }).stdout
    expect(stdout).not.toContain('ada@example.com')
    expect(stdout).toContain('[REDACTED]')
  })

  it('returns policy.blocked for rm -rf /, and nothing runs', async () => {
    const marker = `${sshd().markerDir}/mcp-${crypto.randomUUID()}`
    const result = await callTool(client, 'exec', {
      connection: 'mcp-box',
      command: `touch ${marker} && rm -rf /`,
    })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/^policy\.blocked: .*Deleting the root file system/)
    expect(await exists(marker)).toBe(false)
  })

  it('holds a restart for approval and runs exactly it once approved', async () => {
    const marker = `${sshd().markerDir}/mcp-approved-${crypto.randomUUID()}`
    const command = `systemctl restart nothing-here 2>/dev/null; touch ${marker}`
    const held = await callTool(client, 'exec', { connection: 'mcp-box', command })
    expect(held.isError).toBe(true)
    expect(held.structuredContent?.error?.code).toBe('approval.pending')
    const data = held.structuredContent?.error?.data as { approvalId: string } | undefined
    const approvalId = data?.approvalId ?? ''
    expect(approvalId).not.toBe('')
    expect(await exists(marker)).toBe(false)
    const approver = await personToken('sre-2', ['sre'])
    expect((await decideWith(approver, approvalId, 'approve')).status).toBe(200)
    const ran = await callTool(client, 'await_approval', { approvalId })
    expect(ran.isError, textOf(ran)).toBeFalsy()
    expect(await exists(marker)).toBe(true)
  })

  it('refuses wrong argument types before anything runs', async () => {
    const result = await callTool(client, 'exec', { connection: 'mcp-box', command: 42 })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/^request\.invalid/)
  })
})
