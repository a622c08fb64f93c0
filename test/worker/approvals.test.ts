import { beforeAll, describe, expect, it } from 'vitest'
import {
  approvalDetail,
  approvalDetailWith,
  approvalRow,
  decideWith,
  pendingApproval,
  personToken,
} from './support/approvals.ts'
import {
  adminJson,
  applyPolicy,
  asAgent,
  errorOf,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

let agentToken: string
let otherAgentToken: string
let alice: string
let dave: string
let bob: string
let olivia: string
let carol: string

beforeAll(async () => {
  await putHttpConnection('held-api', { url: originUrl() })
  await applyPolicy({
    version: 1,
    groups: { 'payments-approvers': { members: ['idp:payments-approvers'] } },
    connections: {
      'held-api': {
        grants: ['agent:held-agent', 'agent:other-agent', 'user:carol'],
        approval: { approvers: ['group:payments-approvers'] },
        rules: [
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            reason: 'Moving money needs a human.',
          },
          {
            name: 'expiring',
            match: { methods: ['POST'], paths: ['/expiring/**'] },
            action: 'require_approval',
            expiresAfter: '1s',
          },
          { name: 'the-rest', action: 'allow' },
        ],
      },
    },
  })
  ;({ token: agentToken } = await adminJson<{ token: string }>(
    'POST',
    '/tokens',
    { name: 'held-agent', owner: 'olivia@example.com', connections: ['held-api'] },
    201
  ))
  ;({ token: otherAgentToken } = await mintToken('other-agent', ['held-api']))
  ;[alice, dave, bob, olivia, carol] = await Promise.all([
    personToken('alice', ['payments-approvers']),
    personToken('dave', ['payments-approvers']),
    personToken('bob', ['engineering']),
    personToken('olivia', ['payments-approvers']),
    personToken('carol', ['payments-approvers']),
  ])
})

function pay(marker: string, init: RequestInit = {}, token = agentToken) {
  const headers = new Headers(init.headers)
  headers.set('x-test-marker', marker)
  headers.set('content-type', 'application/json')
  return gatewayFetch(
    `/proxy/held-api/payments/${marker}`,
    asAgent(token, { method: 'POST', body: '{"amount":5}', ...init, headers })
  )
}

describe('an HTTP command held for approval', () => {
  it('waits until an approver approves, then reaches the origin once', async () => {
    const marker = uniqueMarker('approve')
    const held = pay(marker)
    const row = await pendingApproval('held-api', marker)
    expect(row).toMatchObject({
      requesterId: 'agent:held-agent',
      summary: `POST /payments/${marker} (12 B body)`,
      approvers: ['group:payments-approvers'],
    })
    expect(await arrivalsWith(marker)).toEqual([])

    const decided = await decideWith(alice, row.id, 'approve', 'looks right')
    expect(decided.status, await decided.clone().text()).toBe(200)
    const response = await held
    expect(response.status).toBe(200)
    expect(((await response.json()) as { body: string }).body).toBe('{"amount":5}')
    expect(await arrivalsWith(marker)).toHaveLength(1)

    const detail = await approvalDetailWith(row.id, 3)
    expect(await approvalRow(row.id)).toMatchObject({
      state: 'approved',
      decidedBy: 'user:alice',
      decidedVia: 'api',
      consumedAt: expect.any(Number),
    })
    expect(detail.integrity).toMatchObject({ intact: true, events: 3 })
    expect(detail.events.map((event) => event.data)).toMatchObject([
      { state: 'pending', rule: 'payments', reason: 'Moving money needs a human.' },
      { state: 'approved', by: { id: 'user:alice' }, via: 'api', comment: 'looks right' },
      { state: 'approved', consumed: true },
    ])

    const events = await transcriptOf(response.headers.get('x-gatehouse-session') ?? '')
    expect(events.map((event) => event.type)).toEqual([
      'session.start',
      'command',
      'approval',
      'approval',
      'outcome',
      'session.end',
    ])
    expect(events[2]?.data).toMatchObject({ approval: row.id, state: 'pending' })
    expect(events[3]?.data).toMatchObject({
      approval: row.id,
      state: 'approved',
      by: { id: 'user:alice' },
    })
  })

  it('fails with approval.denied when denied, and nothing reaches the origin', async () => {
    const marker = uniqueMarker('deny')
    const held = pay(marker)
    const row = await pendingApproval('held-api', marker)
    expect((await decideWith(dave, row.id, 'deny', 'not today')).status).toBe(200)
    expect(await errorOf(await held)).toEqual({
      status: 403,
      code: 'approval.denied',
      message: 'Denied by dave: not today',
    })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('answers 202 with the approval id after the wait, and lets one identical retry through', async () => {
    const marker = uniqueMarker('retry')
    const first = await pay(marker, { headers: { prefer: 'wait=0' } })
    expect(first.status).toBe(202)
    const id = first.headers.get('x-gatehouse-approval') ?? ''
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    const body = (await first.json()) as { error: { code: string; data: { url: string } } }
    expect(body.error.code).toBe('approval.pending')
    expect(body.error.data.url).toBe(`https://gatehouse.test/approvals/${id}`)

    const retry = (init: RequestInit = {}, token = agentToken) => {
      const headers = new Headers(init.headers)
      headers.set('x-gatehouse-approval', id)
      headers.set('prefer', 'wait=0')
      return pay(marker, { ...init, headers }, token)
    }
    const early = await retry()
    expect(early.status).toBe(202)
    expect(early.headers.get('x-gatehouse-approval')).toBe(id)
    await early.body?.cancel()

    expect((await decideWith(alice, id, 'approve')).status).toBe(200)
    expect(await errorOf(await retry({ body: '{"amount":5000}' }))).toMatchObject({
      status: 409,
      code: 'approval.mismatch',
    })
    expect(await errorOf(await retry({}, otherAgentToken))).toMatchObject({
      status: 404,
      code: 'approval.not_found',
    })
    expect(await arrivalsWith(marker)).toEqual([])

    const through = await retry()
    expect(through.status).toBe(200)
    await through.body?.cancel()
    expect(await errorOf(await retry())).toMatchObject({ status: 409, code: 'approval.used' })
    expect(await arrivalsWith(marker)).toHaveLength(1)

    const detail = await approvalDetailWith(id, 5)
    expect(detail.integrity.intact).toBe(true)
    expect(detail.events.map((event) => event.data.refused ?? event.data.state)).toEqual([
      'pending',
      'approved',
      'approval.mismatch',
      'approved',
      'approval.used',
    ])
  })
})

describe('who may decide', () => {
  it('refuses an approver outside the group, the agent owner and the requester, and records each', async () => {
    const marker = uniqueMarker('abuse')
    const held = pay(marker, { headers: { prefer: 'wait=0' } })
    const id = (await held).headers.get('x-gatehouse-approval') ?? ''

    expect(await errorOf(await decideWith(bob, id, 'approve'))).toMatchObject({
      status: 403,
      code: 'approval.not_an_approver',
    })
    expect(await errorOf(await decideWith(olivia, id, 'approve'))).toMatchObject({
      status: 403,
      code: 'approval.self_approval',
    })
    expect(await errorOf(await decideWith(agentToken, id, 'approve'))).toMatchObject({
      status: 403,
      code: 'approval.self_approval',
    })
    expect(await errorOf(await decideWith('gha_not-a-real-token', id, 'approve'))).toMatchObject({
      status: 401,
    })
    const detail = await approvalDetail(id)
    expect(detail.approval.state).toBe('pending')
    expect(detail.events.slice(1).map((event) => [event.data.refused, event.data.by])).toEqual([
      ['approval.not_an_approver', expect.objectContaining({ id: 'user:bob' })],
      ['approval.self_approval', expect.objectContaining({ id: 'user:olivia' })],
      ['approval.self_approval', expect.objectContaining({ id: 'agent:held-agent' })],
    ])
  })

  it('refuses a person approving their own request', async () => {
    const marker = uniqueMarker('self')
    const first = await pay(marker, { headers: { prefer: 'wait=0' } }, carol)
    expect(first.status).toBe(202)
    const id = first.headers.get('x-gatehouse-approval') ?? ''
    expect(await errorOf(await decideWith(carol, id, 'approve'))).toMatchObject({
      status: 403,
      code: 'approval.self_approval',
    })
  })

  it('takes exactly one of a concurrent approve and deny', async () => {
    const marker = uniqueMarker('race')
    const held = pay(marker)
    const row = await pendingApproval('held-api', marker)
    const [approve, deny] = await Promise.all([
      decideWith(alice, row.id, 'approve'),
      decideWith(dave, row.id, 'deny'),
    ])
    expect([approve.status, deny.status].sort()).toEqual([200, 409])
    const loser = approve.status === 409 ? approve : deny
    expect((await errorOf(loser)).code).toBe('approval.already_decided')
    const response = await held
    const state = (await approvalRow(row.id)).state
    expect(response.status).toBe(state === 'approved' ? 200 : 403)
    expect(await arrivalsWith(marker)).toHaveLength(state === 'approved' ? 1 : 0)
    await response.body?.cancel()
  })

  it('refuses a decision for an id that does not exist', async () => {
    const unknown = 'f'.repeat(64)
    expect((await errorOf(await decideWith(alice, unknown, 'approve'))).code).toBe(
      'approval.not_found'
    )
    expect((await errorOf(await decideWith(alice, 'nope', 'approve'))).code).toBe(
      'approval.not_found'
    )
  })
})

describe('expiry', () => {
  it('expires by alarm: the waiting caller is refused, and a late approval too', async () => {
    const marker = uniqueMarker('expire')
    const response = await gatewayFetch(
      `/proxy/held-api/expiring/${marker}`,
      asAgent(agentToken, {
        method: 'POST',
        body: 'x',
        headers: { 'x-test-marker': marker },
      })
    )
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'approval.expired' })
    const { approvals } = await adminJson<{ approvals: { id: string; summary: string }[] }>(
      'GET',
      '/approvals?state=expired&connection=held-api'
    )
    const id = approvals.find((row) => row.summary.includes(marker))?.id ?? ''
    expect(await errorOf(await decideWith(alice, id, 'approve'))).toMatchObject({
      status: 403,
      code: 'approval.expired',
    })
    expect(await arrivalsWith(marker)).toEqual([])
  })
})

describe('policy', () => {
  it('refuses a require_approval rule that names no approvers', async () => {
    const response = await gatewayFetch('/v1/admin/policy', {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${(await import('cloudflare:workers')).env.ADMIN_TOKEN}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        version: 1,
        connections: {
          x: { grants: ['agent:a'], rules: [{ name: 'r', action: 'require_approval' }] },
        },
      }),
    })
    expect(response.status).toBe(400)
    expect(JSON.stringify(await response.json())).toContain(
      'connections.x.rules[0].approvers: a require_approval rule needs approvers'
    )
  })

  it('shows approvers and expiry in the policy test', async () => {
    const result = await adminJson<{ decision: Record<string, unknown> }>('POST', '/policy/test', {
      as: 'agent:held-agent',
      connection: 'held-api',
      request: { method: 'POST', path: '/expiring/1' },
    })
    expect(result.decision).toMatchObject({
      action: 'require_approval',
      approvers: ['group:payments-approvers'],
      expiresAfterSeconds: 1,
    })
  })
})
