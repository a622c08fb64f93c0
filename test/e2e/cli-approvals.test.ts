/**
 * `gatehouse approvals` through the real stack: the demo agent's payment is held by rule
 * "payments-need-approval", the demo approver decides it with the CLI (its own token),
 * and the held request ends with the origin's answer or a refusal. Each payment carries
 * its own `?ref=` so a test finds its approval among those other files leave pending.
 */
import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { eventually } from './support/gateway.ts'

type ApprovalRow = {
  id: string
  sessionId: string
  connectionName: string
  requesterId: string
  summary: string
  state: string
  decidedBy: string | null
  decidedVia: string | null
  consumedAt: number | null
  approvers: string[]
  rule: string | null
}

type AdminApproval = {
  approval: { id: string; state: string; consumedAt?: string; decision?: { comment?: string } }
  events: { seq: number; type: string; data: Record<string, unknown> }[]
  integrity: { intact: boolean; events: number }
}

const TIME = '\\d{2}:\\d{2}:\\d{2}\\.\\d{3}'
const SELF_APPROVAL =
  'error: approval.self_approval: You cannot decide a request you (or your agent) made.\n'

/** The demo agent pays; `wait` is the RFC 7240 `Prefer: wait` in seconds. */
function pay(
  ref: string,
  options: { wait: number; approval?: string; amount?: number }
): Promise<Response> {
  return fetch(`${inject('gatewayUrl')}/proxy/demo/payments?ref=${ref}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${inject('agentToken')}`,
      'content-type': 'application/json',
      prefer: `wait=${options.wait}`,
      ...(options.approval ? { 'x-gatehouse-approval': options.approval } : {}),
    },
    body: JSON.stringify({ amount: options.amount ?? 4200, currency: 'EUR' }),
  })
}

/** A payment answered 202 at once; returns its approval id. */
async function heldPayment(ref: string): Promise<string> {
  const response = await pay(ref, { wait: 0 })
  await response.arrayBuffer()
  expect(response.status).toBe(202)
  const id = response.headers.get('x-gatehouse-approval')
  if (!id) throw new Error('a 202 without x-gatehouse-approval')
  return id
}

/** The pending approval of the payment sent with `ref`, as the admin lists it. */
function pendingApproval(ref: string): Promise<ApprovalRow> {
  return eventually(async () => {
    const { approvals } = await gatehouseJson<{ approvals: ApprovalRow[] }>([
      'approvals',
      'list',
      '--state',
      'pending',
      '--connection',
      'demo',
      '--limit',
      '200',
    ])
    const row = approvals.find((candidate) => candidate.summary.includes(`?ref=${ref} `))
    if (!row) throw new Error(`no pending approval for ref ${ref} yet`)
    return row
  })
}

function asApprover(args: string[]) {
  return gatehouse(args, { token: inject('approverToken') })
}

describe('gatehouse approvals', () => {
  it('lists a waiting payment; the demo approver approves it and the request gets the origin answer', async () => {
    const ref = randomUUID()
    const waiting = pay(ref, { wait: 60 })
    const row = await pendingApproval(ref)
    expect(row).toMatchObject({
      connectionName: 'demo',
      requesterId: 'agent:demo-agent',
      summary: `POST /payments?ref=${ref} (32 B body)`,
      state: 'pending',
      approvers: ['group:approvers'],
      rule: 'payments-need-approval',
      decidedBy: null,
      consumedAt: null,
    })

    const table = await gatehouse(['approvals', 'list', '--state', 'pending', '--limit', '200'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(
      /^ID +REQUESTED +STATE +REQUESTER +CONNECTION +EXPIRES +DECIDED BY +APPROVERS +COMMAND\n/
    )
    expect(table.stdout).toMatch(
      new RegExp(
        `^${row.id} +\\S+ \\S+Z +pending +agent:demo-agent +demo +\\S+ \\S+Z +- +group:approvers +POST /payments\\?ref=${ref} \\(32 B body\\)$`,
        'm'
      )
    )

    const approved = await asApprover(['approvals', 'approve', row.id, '--comment', 'e2e: fine'])
    expect(approved).toEqual({
      code: 0,
      stdout:
        `Approved ${row.id}: POST /payments?ref=${ref} (32 B body) on demo, requested by agent:demo-agent.\n` +
        'A caller still waiting gets its answer now; one that was told 202 sends the same request ' +
        `again with "X-Gatehouse-Approval: ${row.id}". It goes through once.\n`,
      stderr: '',
    })

    const response = await waiting
    expect(response.status).toBe(201)
    expect(await response.json()).toEqual({
      payment: {
        id: expect.stringMatching(/^pay_\d+$/),
        status: 'captured',
        request: { amount: 4200, currency: 'EUR' },
      },
    })

    const transcript = await eventually(async () => {
      const result = await gatehouse(['sessions', 'show', row.sessionId])
      if (!result.stdout.includes('session.end')) throw new Error('session not closed yet')
      return result.stdout
    })
    expect(transcript).toMatch(
      new RegExp(
        [
          `#1 ${TIME}  command        POST /payments\\?ref=${ref} \\(32 B body\\) → require_approval by rule "payments-need-approval": Moving money needs a human\\.`,
          `#2 ${TIME}  approval       ${row.id} pending, approvers group:approvers, expires \\S+`,
          `#3 ${TIME}  approval       ${row.id} approved by agent:demo-approver via api: "e2e: fine"`,
          `#4 ${TIME}  outcome        command #1 ok, HTTP 201, \\d+ B down, \\d+ ms`,
          `#5 ${TIME}  session\\.end`,
        ].join('\\n')
      )
    )
  })

  it('a payment the approver denies with a comment fails 403 approval.denied and never reaches the origin', async () => {
    const ref = randomUUID()
    const waiting = pay(ref, { wait: 60, amount: 990_000 })
    const row = await pendingApproval(ref)

    const denied = await asApprover([
      'approvals',
      'deny',
      row.id,
      '--comment',
      'Not without an invoice.',
    ])
    expect(denied).toEqual({
      code: 0,
      stdout:
        `Denied ${row.id}: POST /payments?ref=${ref} (34 B body) on demo, requested by agent:demo-agent.\n` +
        'The command is refused with approval.denied and never reaches the target.\n',
      stderr: '',
    })

    const response = await waiting
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({
      error: {
        code: 'approval.denied',
        message: 'Denied by demo-approver: Not without an invoice.',
        data: { approvalId: row.id, state: 'denied' },
      },
    })
    const again = await pay(ref, { wait: 0, amount: 990_000, approval: row.id })
    expect(again.status).toBe(403)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('approval.denied')
  })

  it("the demo agent's own token cannot approve its payment, and it stays pending", async () => {
    const id = await heldPayment(randomUUID())
    const result = await gatehouse(['approvals', 'approve', id], { token: inject('agentToken') })
    expect(result).toEqual({ code: 1, stdout: '', stderr: SELF_APPROVAL })
    const shown = await gatehouseJson<AdminApproval>(['approvals', 'show', id])
    expect(shown.approval.state).toBe('pending')
  })

  it('an approver without the admin token sees the request itself with approvals show', async () => {
    const ref = randomUUID()
    const id = await heldPayment(ref)
    const result = await asApprover(['approvals', 'show', id])
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n')[0]).toBe(
      `Approval ${id}: POST /payments?ref=${ref} (32 B body) on demo, pending`
    )
    expect(result.stdout).toContain('approvers:  group:approvers\n')
    expect(result.stderr).toBe('(its event log needs the admin token)\n')
  })

  it('an agent outside the approvers cannot decide, and an unknown id is not found', async () => {
    const id = await heldPayment(randomUUID())
    const outsider = await gatehouse(['approvals', 'deny', id], {
      token: inject('postgresAgentToken'),
    })
    expect(outsider).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: approval.not_an_approver: You are not one of the approvers this request names.\n',
    })
    const unknown = await asApprover(['approvals', 'approve', '0'.repeat(64)])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^error: approval\.not_found: /)
  })

  it('a retry naming the approval goes through once it is approved, then 409 approval.used', async () => {
    const ref = randomUUID()
    const id = await heldPayment(ref)
    const approved = await gatehouseJson<{ id: string; state: string }>(
      ['approvals', 'approve', id],
      { token: inject('approverToken') }
    )
    expect(approved).toMatchObject({ id, state: 'approved' })

    const different = await pay(ref, { wait: 0, approval: id, amount: 1 })
    expect(different.status).toBe(409)
    expect(((await different.json()) as { error: { code: string } }).error.code).toBe(
      'approval.mismatch'
    )

    const first = await pay(ref, { wait: 0, approval: id })
    expect(first.status).toBe(201)
    expect(((await first.json()) as { payment: { status: string } }).payment.status).toBe(
      'captured'
    )

    const second = await pay(ref, { wait: 0, approval: id })
    expect(second.status).toBe(409)
    expect(await second.json()).toEqual({
      error: {
        code: 'approval.used',
        message: 'This approval has already been used; an approval lets its command through once.',
      },
    })
  })

  it('approvals show prints the record, every event of its log and an intact chain', async () => {
    const ref = randomUUID()
    const id = await heldPayment(ref)
    expect(
      (await gatehouse(['approvals', 'approve', id], { token: inject('agentToken') })).code
    ).toBe(1)
    expect((await asApprover(['approvals', 'approve', id, '--comment', 'ok once'])).code).toBe(0)
    expect((await pay(ref, { wait: 0, approval: id })).status).toBe(201)
    expect((await pay(ref, { wait: 0, approval: id })).status).toBe(409)

    const json = await eventually(async () => {
      const shown = await gatehouseJson<AdminApproval>(['approvals', 'show', id])
      // The "used" event is written just after the command goes on.
      if (shown.events.length < 5) throw new Error(`${shown.events.length} events so far`)
      return shown
    })
    expect(json.approval).toMatchObject({ id, state: 'approved', decision: { comment: 'ok once' } })
    expect(json.approval.consumedAt).toEqual(expect.any(String))
    expect(json.integrity).toMatchObject({ intact: true, events: json.events.length })

    const result = await gatehouse(['approvals', 'show', id])
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines.slice(0, 4).join('\n')).toBe(
      [
        `Approval ${id}: POST /payments?ref=${ref} (32 B body) on demo, approved`,
        'requester:  agent:demo-agent (agent_token)',
        'rule:       "payments-need-approval": Moving money needs a human.',
        'approvers:  group:approvers',
      ].join('\n')
    )
    expect(result.stdout).toMatch(
      /^decision: {3}approved by agent:demo-approver via api at \S+ \S+Z: "ok once"$/m
    )
    expect(result.stdout).toMatch(
      new RegExp(
        [
          `#0 ${TIME}  requested  agent:demo-agent \\(session \\S+, command #1\\), held by rule "payments-need-approval"; approvers group:approvers; expires \\S+`,
          `#1 ${TIME}  refused    approval\\.self_approval: approve by agent:demo-agent via api`,
          `#2 ${TIME}  approved   by agent:demo-approver via api: "ok once"`,
          `#3 ${TIME}  used       the approved command was let through \\(once\\)`,
          `#4 ${TIME}  refused    approval\\.used: claim by agent:demo-agent`,
          '',
          `Log: chain intact, 5 events, last hash [0-9a-f]{64}\\.`,
        ].join('\\n')
      )
    )
  })

  it('approvals list --state with an unknown state is a usage error', async () => {
    const result = await gatehouse(['approvals', 'list', '--state', 'waiting'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /^error: option '--state <state>' argument 'waiting' is invalid\. must be one of pending, approved, denied, expired, cancelled\./
    )
  })
})
