/**
 * `gatehouse sessions`: every request through the gateway is recorded, and the CLI shows
 * and verifies the recording. Sessions are found by the id the gateway returns in
 * `x-gatehouse-session`; the recorder closes them just after the answer, hence `eventually`.
 */
import { createHash } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { asAgent, eventually } from './support/gateway.ts'

type SessionRow = {
  id: string
  callerId: string
  connectionName: string
  protocol: string
  status: string
  outcome: string
  commands: number
  allowed: number
  blocked: number
  approvalsRequired: number
  events: number
}

/** Sends a request as the demo agent and returns its session once the recorder closed it. */
async function recordedRequest(method: string, path: string, body?: unknown): Promise<SessionRow> {
  const response = await asAgent(inject('agentToken'), method, path, body)
  return closedSession(response)
}

/** A payment held for approval, answered 202 at once (`Prefer: wait=0`) instead of waiting. */
async function heldPayment(body: unknown): Promise<SessionRow & { approvalId: string }> {
  const response = await fetch(`${inject('gatewayUrl')}/proxy/demo/payments`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${inject('agentToken')}`,
      'content-type': 'application/json',
      prefer: 'wait=0',
    },
    body: JSON.stringify(body),
  })
  expect(response.status).toBe(202)
  const approvalId = response.headers.get('x-gatehouse-approval') ?? ''
  return { ...(await closedSession(response)), approvalId }
}

async function closedSession(response: Response): Promise<SessionRow> {
  await response.arrayBuffer()
  const id = response.headers.get('x-gatehouse-session')
  if (!id) throw new Error(`no x-gatehouse-session header (status ${response.status})`)
  return eventually(async () => {
    const page = await gatehouseJson<{ sessions: SessionRow[] }>([
      'sessions',
      'list',
      '--caller',
      'agent:demo-agent',
      '--connection',
      'demo',
      '--limit',
      '200',
    ])
    const row = page.sessions.find((session) => session.id === id)
    if (row?.status !== 'closed') throw new Error(`session ${id} is not closed yet`)
    return row
  })
}

const TIME = '\\d{2}:\\d{2}:\\d{2}\\.\\d{3}'

describe('gatehouse sessions', () => {
  it('sessions list shows an allowed request with its counts', async () => {
    const row = await recordedRequest('GET', '/proxy/demo/orders/1002')
    expect(row).toMatchObject({
      callerId: 'agent:demo-agent',
      connectionName: 'demo',
      protocol: 'http',
      outcome: 'ok',
      commands: 1,
      allowed: 1,
      blocked: 0,
      approvalsRequired: 0,
      events: 4,
    })
    const table = await gatehouse([
      'sessions',
      'list',
      '--caller',
      'agent:demo-agent',
      '--limit',
      '200',
    ])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(
      /^ID +STARTED +CALLER +CONNECTION +PROTOCOL +OUTCOME +CMDS +ALLOWED +BLOCKED +APPROVAL +STATUS\n/
    )
    expect(table.stdout).toMatch(
      new RegExp(
        `^${row.id} +\\S+ \\S+Z +agent:demo-agent +demo +http +ok +1 +1 +0 +0 +closed$`,
        'm'
      )
    )
  })

  it('sessions show prints the command, the rule that allowed it and the origin status', async () => {
    const row = await recordedRequest('GET', '/proxy/demo/orders/1002')
    const result = await gatehouse(['sessions', 'show', row.id])
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines[0]).toBe(`Session ${row.id}: agent:demo-agent on demo (http), closed, outcome ok`)
    expect(lines.slice(3, 7).join('\n')).toMatch(
      new RegExp(
        [
          `^#0 ${TIME}  session\\.start  agent:demo-agent \\(agent_token\\) → demo over http, policy v\\d+, client node`,
          `#1 ${TIME}  command        GET /orders/1002 → allow by rule "read-only": Allowed by rule "read-only"\\.`,
          `#2 ${TIME}  outcome        command #1 ok, HTTP 200, \\d+ B down, \\d+ ms`,
          `#3 ${TIME}  session\\.end$`,
        ].join('\\n')
      )
    )
  })

  it('sessions show records a blocked DELETE as refused before forwarding', async () => {
    const row = await recordedRequest('DELETE', '/proxy/demo/admin/users/9')
    expect(row).toMatchObject({ outcome: 'blocked', commands: 1, allowed: 0, blocked: 1 })
    const result = await gatehouse(['sessions', 'show', row.id])
    expect(result.stdout).toContain(
      '  command        DELETE /admin/users/9 → block by rule "no-admin-deletes": Agents may not delete admin resources.\n'
    )
    expect(result.stdout).toMatch(
      new RegExp(`#2 ${TIME}  outcome        command #1 blocked, policy\\.blocked\\n`)
    )
  })

  it('sessions show records a payment held for approval: its body size, the approval and no HTTP status', async () => {
    const row = await heldPayment({ amount: 1 })
    expect(row.approvalId).toMatch(/^[0-9a-f]{64}$/)
    expect(row).toMatchObject({ outcome: 'blocked', commands: 1, approvalsRequired: 1 })
    const result = await gatehouse(['sessions', 'show', row.id])
    expect(result.stdout).toMatch(
      new RegExp(
        [
          `#1 ${TIME}  command        POST /payments \\(12 B body\\) → require_approval by rule "payments-need-approval": Moving money needs a human\\.`,
          `#2 ${TIME}  approval       ${row.approvalId} pending, approvers group:approvers, expires \\d{4}-\\d{2}-\\d{2}T\\S+Z`,
          `#3 ${TIME}  approval       ${row.approvalId} still pending when the wait ended`,
          `#4 ${TIME}  outcome        command #1 blocked, approval\\.pending`,
          `#5 ${TIME}  session\\.end`,
        ].join('\\n')
      )
    )
  })

  it('sessions show --json prints the stored NDJSON, whose lines chain by SHA-256', async () => {
    const row = await recordedRequest('GET', '/proxy/demo/orders/1003')
    const result = await gatehouse(['--json', 'sessions', 'show', row.id])
    expect(result.code).toBe(0)
    expect(result.stdout.endsWith('\n')).toBe(true)
    const lines = result.stdout.trimEnd().split('\n')
    const events = lines.map(
      (line) => JSON.parse(line) as { sid: string; seq: number; type: string; prev: string | null }
    )
    expect(events.map((event) => event.type)).toEqual([
      'session.start',
      'command',
      'outcome',
      'session.end',
    ])
    expect(events.map((event) => event.seq)).toEqual([0, 1, 2, 3])
    expect(new Set(events.map((event) => event.sid))).toEqual(new Set([row.id]))
    expect(events[0]?.prev).toBeNull()
    for (let index = 1; index < lines.length; index++) {
      const previous = createHash('sha256')
        .update(lines[index - 1] ?? '')
        .digest('hex')
      expect(events[index]?.prev).toBe(previous)
    }
  })

  it('sessions verify reports an intact chain that matches the index', async () => {
    const row = await recordedRequest('GET', '/proxy/demo/orders/1003')
    const result = await gatehouse(['sessions', 'verify', row.id])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(
      new RegExp(
        `^Session ${row.id}: chain intact, 4 events, last hash [0-9a-f]{64}; the index matches \\(status closed\\)\\.\\n$`
      )
    )
  })

  it('sessions verify of an unknown session exits 1 with resource.not_found', async () => {
    const result = await gatehouse(['sessions', 'verify', '00000000-0000-7000-8000-000000000000'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'error: resource.not_found: No session with id "00000000-0000-7000-8000-000000000000".\n'
    )
  })

  it('sessions list --outcome with an unknown outcome is a usage error', async () => {
    const result = await gatehouse(['sessions', 'list', '--outcome', 'fine'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /^error: option '--outcome <outcome>' argument 'fine' is invalid\. must be one of ok, blocked, error, refused\./
    )
  })
})
