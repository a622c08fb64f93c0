/**
 * Approvals over MCP: a held tool call either waits with progress notifications (when the
 * client sent a progressToken) or answers approval.pending with the id and link at once;
 * await_approval then waits for the decision and runs exactly the approved command, once.
 * Decisions go through the approvals API, as an approver's would.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { Progress } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approvalDetailWith, decideWith, personToken } from './support/approvals.ts'
import {
  applyPolicy,
  asAgent,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'
import { callTool, mcpClient, type ToolOutcome, textOf } from './support/mcp-client.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'
import { putPostgresConnection, queryAs } from './support/postgres-connections.ts'

let requester: Client
let requesterToken: string
let stranger: Client
let setupToken: string
let dana: string

async function putPostgres(name: string): Promise<void> {
  const response = await putPostgresConnection(name)
  expect(response.status).toBe(201)
}

async function setupSql(sql: string, params: unknown[] = []): Promise<unknown[][]> {
  const response = await queryAs(setupToken, 'mcp-approvals-setup', sql, params)
  const text = await response.text()
  expect(response.status, text).toBe(200)
  return (JSON.parse(text) as { rows: unknown[][] }).rows
}

/** How many mcp_marks rows carry `label`. */
async function marks(label: string): Promise<number> {
  const [[count] = []] = await setupSql('SELECT count(*)::int FROM mcp_marks WHERE label = $1', [
    label,
  ])
  return count as number
}

function insertMark(label: string, extra: Record<string, unknown> = {}) {
  return {
    connection: 'mcp-ledger',
    sql: 'INSERT INTO mcp_marks (label) VALUES ($1)',
    params: [label],
    ...extra,
  }
}

function pendingOf(result: ToolOutcome): { approvalId: string; url: string; expiresAt: string } {
  expect(result.isError, textOf(result)).toBe(true)
  expect(result.structuredContent?.error?.code).toBe('approval.pending')
  return result.structuredContent?.error?.data as {
    approvalId: string
    url: string
    expiresAt: string
  }
}

beforeAll(async () => {
  await Promise.all([putPostgres('mcp-ledger'), putPostgres('mcp-approvals-setup')])
  await putHttpConnection('mcp-pay', { url: originUrl() })
  await applyPolicy({
    version: 1,
    connections: {
      'mcp-ledger': {
        grants: ['agent:mcp-requester', 'agent:mcp-stranger'],
        approval: { approvers: ['idp:dba'] },
        masking: { detectors: { email: 'redact' } },
        rules: [
          {
            name: 'mark-writes',
            match: { classes: ['write'], tables: ['mcp_marks'] },
            action: 'require_approval',
            reason: 'Marks need a DBA.',
          },
          { name: 'reads', match: { classes: ['read'] }, action: 'allow' },
        ],
      },
      'mcp-pay': {
        grants: ['agent:mcp-requester'],
        default: 'allow',
        rules: [
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            approvers: ['idp:dba'],
          },
        ],
      },
      'mcp-approvals-setup': { grants: ['agent:mcp-approvals-setup'], default: 'allow' },
    },
  })
  const [own, other, setup] = await Promise.all([
    mintToken('mcp-requester', ['*']),
    mintToken('mcp-stranger', ['*']),
    mintToken('mcp-approvals-setup', ['mcp-approvals-setup']),
  ])
  setupToken = setup.token
  requesterToken = own.token
  dana = await personToken('dana', ['dba'])
  await setupSql(
    'CREATE TABLE IF NOT EXISTS mcp_marks (id serial PRIMARY KEY, label text NOT NULL)'
  )
  ;[requester, stranger] = await Promise.all([mcpClient(own.token), mcpClient(other.token)])
})

afterAll(async () => {
  await Promise.all([requester?.close(), stranger?.close()])
})

describe('a held call without a progress token', () => {
  it('answers approval.pending with the id and link, runs the approved command once via await_approval, and refuses any other', async () => {
    const label = uniqueMarker('mark')
    const held = await callTool(requester, 'query', insertMark(label))
    const pending = pendingOf(held)
    expect(pending.approvalId).toMatch(/^[0-9a-f]{64}$/)
    expect(pending.url).toBe(`https://gatehouse.test/approvals/${pending.approvalId}`)
    expect(textOf(held)).toBe(
      `approval.pending: This command needs human approval and was not run yet. An approver decides at ${pending.url} (the request expires at ${pending.expiresAt}). Tell the user, then call await_approval with {"approvalId": "${pending.approvalId}"}: it waits for the decision and, once approved, runs exactly this command, once. Repeating this exact call with "approvalId": "${pending.approvalId}" does the same; any other command is refused under this approval.`
    )
    expect(await marks(label)).toBe(0)

    // Still pending: await_approval says so again when asked not to wait.
    const early = await callTool(requester, 'await_approval', {
      approvalId: pending.approvalId,
      waitSeconds: 0,
    })
    expect(pendingOf(early).approvalId).toBe(pending.approvalId)

    const approved = await decideWith(dana, pending.approvalId, 'approve')
    expect(approved.status, await approved.clone().text()).toBe(200)

    // A different command under the same approval is refused, and not run.
    const tampered = uniqueMarker('tampered')
    const other = await callTool(
      requester,
      'query',
      insertMark(tampered, { approvalId: pending.approvalId })
    )
    expect(textOf(other)).toBe(
      'approval.mismatch: This approval covers a different command; only the exact command that was approved may use it.'
    )
    expect(await marks(tampered)).toBe(0)

    const ran = await callTool(requester, 'await_approval', { approvalId: pending.approvalId })
    expect(ran.isError, textOf(ran)).toBeFalsy()
    expect(ran.structuredContent).toMatchObject({ command: 'INSERT 0 1', rowCount: 0 })
    expect(await marks(label)).toBe(1)

    const again = await callTool(requester, 'await_approval', { approvalId: pending.approvalId })
    expect(textOf(again)).toBe(
      'approval.used: This approval has already been used; an approval lets its command through once.'
    )
    const resent = await callTool(
      requester,
      'query',
      insertMark(label, { approvalId: pending.approvalId })
    )
    expect(resent.structuredContent?.error?.code).toBe('approval.used')
    expect(await marks(label)).toBe(1)

    // The run is recorded as the await_approval call, with the command it replayed.
    const events = await transcriptOf(String(ran.structuredContent?.sessionId))
    expect(events[0]?.data).toMatchObject({ protocol: 'mcp', tool: 'await_approval' })
    expect(events[1]?.data).toEqual({
      tool: 'await_approval',
      arguments: {
        connection: 'mcp-ledger',
        sql: 'INSERT INTO mcp_marks (label) VALUES ($1)',
        params: [label],
        approvalId: pending.approvalId,
      },
    })
    expect(events.find((event) => event.type === 'approval')?.data).toMatchObject({
      approval: pending.approvalId,
      state: 'approved',
      by: { id: 'user:dana' },
    })
    const log = await approvalDetailWith(pending.approvalId, 1)
    expect(log.events.some((event) => event.data.refused === 'approval.mismatch')).toBe(true)
  })

  it('reports a denial to await_approval with the approver and comment; nothing runs', async () => {
    const marker = uniqueMarker('mcp-pay-denied')
    const held = await callTool(requester, 'http_request', {
      connection: 'mcp-pay',
      method: 'POST',
      path: `/payments/${marker}`,
      headers: { 'x-test-marker': marker, 'content-type': 'application/json' },
      body: '{"amount":5}',
    })
    const { approvalId } = pendingOf(held)
    expect((await decideWith(dana, approvalId, 'deny', 'not today')).status).toBe(200)
    const result = await callTool(requester, 'await_approval', { approvalId })
    expect(textOf(result)).toBe('approval.denied: Denied by dana: not today')
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('sends an approved HTTP request exactly as it was held, once', async () => {
    const marker = uniqueMarker('mcp-pay')
    const held = await callTool(requester, 'http_request', {
      connection: 'mcp-pay',
      method: 'POST',
      path: `/payments/${marker}?currency=EUR`,
      headers: { 'x-test-marker': marker, 'content-type': 'application/json' },
      body: '{"amount":42}',
    })
    const { approvalId } = pendingOf(held)
    expect(await arrivalsWith(marker)).toEqual([])
    expect((await decideWith(dana, approvalId, 'approve')).status).toBe(200)

    const sent = await callTool(requester, 'await_approval', { approvalId })
    expect(sent.isError, textOf(sent)).toBeFalsy()
    expect(sent.structuredContent).toMatchObject({ status: 200 })
    const arrivals = await arrivalsWith(marker)
    expect(arrivals).toMatchObject([
      {
        method: 'POST',
        url: `/payments/${marker}?currency=EUR`,
        body: '{"amount":42}',
        headers: { 'content-type': 'application/json' },
      },
    ])
    expect(
      (await callTool(requester, 'await_approval', { approvalId })).structuredContent?.error?.code
    ).toBe('approval.used')
    expect(await arrivalsWith(marker)).toHaveLength(1)
  })

  it('cannot replay a command stored masked, and says to resend it with the approval id', async () => {
    const label = `${crypto.randomUUID()}@example.com`
    const { approvalId } = pendingOf(await callTool(requester, 'query', insertMark(label)))
    expect((await decideWith(dana, approvalId, 'approve')).status).toBe(200)
    const replay = await callTool(requester, 'await_approval', { approvalId })
    expect(textOf(replay)).toBe(
      `approval.mismatch: await_approval cannot run this approval's command: it is stored masked. Call query again with exactly the original arguments and "approvalId": "${approvalId}".`
    )
    expect(await marks(label)).toBe(0)
    const resent = await callTool(requester, 'query', insertMark(label, { approvalId }))
    expect(resent.structuredContent).toMatchObject({ command: 'INSERT 0 1' })
    expect(await marks(label)).toBe(1)
  })

  it('leaves an approval requested through the HTTP proxy to the proxy', async () => {
    const marker = uniqueMarker('mcp-pay-proxy')
    const response = await gatewayFetch(
      `/proxy/mcp-pay/payments/${marker}`,
      asAgent(requesterToken, {
        method: 'POST',
        headers: { prefer: 'wait=0', 'x-test-marker': marker },
        body: '{"amount":1}',
      })
    )
    expect(response.status).toBe(202)
    const approvalId = response.headers.get('x-gatehouse-approval') ?? ''
    expect((await decideWith(dana, approvalId, 'approve')).status).toBe(200)
    const result = await callTool(requester, 'await_approval', { approvalId })
    expect(textOf(result)).toBe(
      "approval.mismatch: await_approval cannot run this approval's command: it was requested through the HTTP proxy; resend it there with X-Gatehouse-Approval."
    )
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('tells another caller there is no such approval', async () => {
    const label = uniqueMarker('mark-other')
    const { approvalId } = pendingOf(await callTool(requester, 'query', insertMark(label)))
    const result = await callTool(stranger, 'await_approval', { approvalId })
    expect(textOf(result)).toBe(
      'approval.not_found: No approval with this id was requested by you.'
    )
    const unknown = await callTool(requester, 'await_approval', { approvalId: '0'.repeat(64) })
    expect(unknown.structuredContent?.error?.code).toBe('approval.not_found')
    expect(await marks(label)).toBe(0)
  })
})

describe('a held call with a progress token', () => {
  it('waits, says where to approve in a progress notification, and returns the result once approved', async () => {
    const label = uniqueMarker('mark-progress')
    const notes: Progress[] = []
    let sawFirst: (note: Progress) => void = () => {}
    const first = new Promise<Progress>((resolve) => {
      sawFirst = resolve
    })
    const call = requester.callTool({ name: 'query', arguments: insertMark(label) }, undefined, {
      onprogress: (progress) => {
        notes.push(progress)
        sawFirst(progress)
      },
    })
    const note = await first
    const id = /approval ([0-9a-f]{64})/.exec(note.message ?? '')?.[1] ?? ''
    expect(note).toMatchObject({ progress: 1 })
    expect(note.message).toMatch(
      new RegExp(
        `^Waiting for approval ${id}: an approver decides at https://gatehouse\\.test/approvals/${id} \\(expires \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\\)\\.$`
      )
    )
    expect(await marks(label)).toBe(0)
    expect((await decideWith(dana, id, 'approve')).status).toBe(200)

    const result = (await call) as ToolOutcome
    expect(result.isError, textOf(result)).toBeFalsy()
    expect(result.structuredContent).toMatchObject({ command: 'INSERT 0 1' })
    expect(await marks(label)).toBe(1)
    expect(notes).toHaveLength(1)
  })
})
