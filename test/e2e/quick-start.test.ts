/**
 * The quick start `npm start` prints, run as printed with the real curl: the agent reads
 * the orders, cannot delete an admin user, cannot move money without a human, and the
 * origin only ever hears from the gateway. The payment is sent with `Prefer: wait=0`
 * instead of the printed 30 s, so the test does not wait for a human who never comes.
 */
import { describe, expect, inject, it } from 'vitest'
import { gatehouseJson } from './support/cli.ts'
import { runCurlLine } from './support/curl.ts'
import { eventually, originStats } from './support/gateway.ts'

const PRINTED_WAIT = "-H 'Prefer: wait=30'"

type ApprovalRow = { id: string; connectionName: string; consumedAt: number | null }

function curlLine(method: 'GET' | 'DELETE' | 'POST'): string {
  const lines = inject('quickStartCurls')
  const line =
    method === 'GET'
      ? lines.find((candidate) => !candidate.includes(' -X '))
      : lines.find((candidate) => candidate.includes(` -X ${method} `))
  if (!line) throw new Error(`the banner has no ${method} curl line: ${lines.join('\n')}`)
  return line
}

/** The printed payment, told to answer at once instead of after 30 s. */
function paymentWithoutWaiting(): string {
  const line = curlLine('POST')
  if (!line.includes(PRINTED_WAIT)) throw new Error(`the payment line has no ${PRINTED_WAIT}`)
  return line.replace(PRINTED_WAIT, "-H 'Prefer: wait=0'")
}

describe('the printed quick start', () => {
  it('prints exactly three curl lines, all with the demo agent token', () => {
    const lines = inject('quickStartCurls')
    expect(lines).toHaveLength(3)
    for (const line of lines) {
      expect(line).toContain(`-H 'Authorization: Bearer ${inject('agentToken')}'`)
      expect(line).toContain(`${inject('gatewayUrl')}/proxy/demo/`)
    }
  })

  it('GET /proxy/demo/orders returns the demo orders through the gateway', async () => {
    const response = await runCurlLine(curlLine('GET'))
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json')
    expect(response.headers['x-gatehouse-session']).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.parse(response.body)).toEqual({
      orders: [
        { id: '1001', customer: 'Ada Lovelace', total: 4200, currency: 'EUR', status: 'paid' },
        { id: '1002', customer: 'Grace Hopper', total: 1999, currency: 'USD', status: 'shipped' },
        { id: '1003', customer: 'Alan Turing', total: 350, currency: 'GBP', status: 'pending' },
      ],
    })
  })

  it('DELETE /proxy/demo/admin/users/42 is refused 403 policy.blocked', async () => {
    const response = await runCurlLine(curlLine('DELETE'))
    expect(response.status).toBe(403)
    expect(JSON.parse(response.body)).toEqual({
      error: {
        code: 'policy.blocked',
        message: 'Agents may not delete admin resources.',
        data: { rule: 'no-admin-deletes' },
      },
    })
  })

  it('the payment line asks to wait 30 s for a human', () => {
    expect(curlLine('POST')).toContain(
      ` -X POST -H 'Authorization: Bearer ${inject('agentToken')}' ${PRINTED_WAIT} `
    )
  })

  it('POST /proxy/demo/payments is held: 202 approval.pending names the approval to wait for', async () => {
    const response = await runCurlLine(paymentWithoutWaiting())
    expect(response.status).toBe(202)
    const id = response.headers['x-gatehouse-approval'] ?? ''
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    const url = `${inject('gatewayUrl')}/approvals/${id}`
    const body = JSON.parse(response.body) as { error: { data: { expiresAt: string } } }
    expect(body).toEqual({
      error: {
        code: 'approval.pending',
        message: `This command is waiting for approval at ${url}. Send the same request again with the header "X-Gatehouse-Approval: ${id}" once it is approved.`,
        data: { approvalId: id, url, expiresAt: expect.any(String) },
      },
    })
    // The demo rule's expiresAfter: 15m.
    const left = Date.parse(body.error.data.expiresAt) - Date.now()
    expect(left).toBeGreaterThan(14 * 60_000)
    expect(left).toBeLessThanOrEqual(15 * 60_000)
  })

  it('the demo origin never receives the refused DELETE or a payment nobody approved', async () => {
    await runCurlLine(curlLine('DELETE'))
    const held = await runCurlLine(paymentWithoutWaiting())
    await runCurlLine(curlLine('GET'))
    const stats = await originStats()
    expect(stats.requests['GET /orders']).toBeGreaterThanOrEqual(1)
    expect(stats.requests['DELETE /admin/users/:id']).toBeUndefined()

    const id = held.headers['x-gatehouse-approval'] ?? ''
    const shown = await gatehouseJson<{ approval: { state: string; consumedAt?: string } }>([
      'approvals',
      'show',
      id,
    ])
    expect(shown.approval.state).toBe('pending')
    expect(shown.approval.consumedAt).toBeUndefined()
    // Other test files approve payments meanwhile: each that reached the origin was let
    // through by a used approval (the index follows the approval a moment later).
    await eventually(async () => {
      const { approvals } = await gatehouseJson<{ approvals: ApprovalRow[] }>([
        'approvals',
        'list',
        '--connection',
        'demo',
        '--limit',
        '200',
      ])
      const used = approvals.filter((row) => row.consumedAt !== null).length
      expect(stats.requests['POST /payments'] ?? 0).toBeLessThanOrEqual(used)
    })
  })

  it('the demo origin refuses callers that do not hold its secret, so only the gateway gets through', async () => {
    const before = await originStats()
    const withAgentToken = await fetch(`${inject('demoOriginUrl')}/orders`, {
      headers: { authorization: `Bearer ${inject('agentToken')}` },
    })
    const withNothing = await fetch(`${inject('demoOriginUrl')}/orders`)
    expect(withAgentToken.status).toBe(401)
    expect(withNothing.status).toBe(401)
    const after = await originStats()
    expect(after.unauthorized - before.unauthorized).toBe(2)
    expect(after.requests['GET /orders']).toBe(before.requests['GET /orders'])
  })
})
