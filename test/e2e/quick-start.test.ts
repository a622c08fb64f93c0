/**
 * The quick start `npm start` prints, run as printed with the real curl: the agent reads
 * the orders, cannot delete an admin user, cannot move money without a human, and the
 * origin only ever hears from the gateway.
 */
import { describe, expect, inject, it } from 'vitest'
import { runCurlLine } from './support/curl.ts'
import { originStats } from './support/gateway.ts'

function curlLine(method: 'GET' | 'DELETE' | 'POST'): string {
  const lines = inject('quickStartCurls')
  const line =
    method === 'GET'
      ? lines.find((candidate) => !candidate.includes(' -X '))
      : lines.find((candidate) => candidate.includes(` -X ${method} `))
  if (!line) throw new Error(`the banner has no ${method} curl line: ${lines.join('\n')}`)
  return line
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

  it('POST /proxy/demo/payments is refused 403 approval.required', async () => {
    const response = await runCurlLine(curlLine('POST'))
    expect(response.status).toBe(403)
    expect(JSON.parse(response.body)).toEqual({
      error: {
        code: 'approval.required',
        message:
          'Moving money needs a human. This command needs human approval, and approvals are not enabled on this gateway, so it was not forwarded.',
        data: { rule: 'payments-need-approval' },
      },
    })
  })

  it('the demo origin never receives the refused DELETE or POST', async () => {
    await runCurlLine(curlLine('DELETE'))
    await runCurlLine(curlLine('POST'))
    await runCurlLine(curlLine('GET'))
    const stats = await originStats()
    expect(stats.requests['GET /orders']).toBeGreaterThanOrEqual(1)
    expect(stats.requests['DELETE /admin/users/:id']).toBeUndefined()
    expect(stats.requests['POST /payments']).toBeUndefined()
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
