/**
 * Approval hand-off: how long after an approver decides does the held command reach the
 * origin? Each round holds one POST on an ApprovalRequest, approves it through the
 * decision API, and times decision-sent → origin-arrival on one clock (this process).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { BenchGateway } from './bench-gateway.ts'
import { summarize } from './stats.ts'

const ROUNDS = 40
const POLL_MS = 5

export type ApprovalLatency = {
  rounds: number
  /** Decision request sent → held command at the origin. */
  decisionToOriginMillis: { p50: number; p99: number; mean: number }
  /** The decision API's own answer time, within the above. */
  decisionResponseMillis: { p50: number; p99: number; mean: number }
}

export async function benchApprovalLatency(
  gateway: BenchGateway,
  log: (line: string) => void
): Promise<ApprovalLatency> {
  const arrivals = new Map<string, number>()
  const waiting = new Map<string, () => void>()
  const origin = createServer((request, response) => {
    const key = request.url ?? ''
    arrivals.set(key, performance.now())
    waiting.get(key)?.()
    request.resume()
    request.on('end', () => response.end('ok'))
  })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  try {
    const { requester, approver } = await seed(gateway, originUrl)
    const toOrigin: number[] = []
    const decisionAnswer: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const path = `/pay/${round}-${crypto.randomUUID()}`
      const arrived = new Promise<void>((resolve) => waiting.set(path, resolve))
      const held = fetch(`${gateway.url}/proxy/held${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${requester}`, prefer: 'wait=60' },
        body: '{"amount":1}',
      })
      const id = await pendingId(gateway, path)
      const sent = performance.now()
      const decided = await fetch(`${gateway.url}/v1/approvals/${id}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' },
        body: JSON.stringify({ verdict: 'approve' }),
      })
      decisionAnswer.push(performance.now() - sent)
      if (decided.status !== 200) throw new Error(`decision failed: ${await decided.text()}`)
      await arrived
      toOrigin.push((arrivals.get(path) ?? Number.NaN) - sent)
      const response = await held
      if (response.status !== 200) throw new Error(`held request ended ${response.status}`)
      await response.arrayBuffer()
    }
    const result = {
      rounds: ROUNDS,
      decisionToOriginMillis: rounded(summarize(toOrigin)),
      decisionResponseMillis: rounded(summarize(decisionAnswer)),
    }
    log(
      `  decision → origin p50 ${result.decisionToOriginMillis.p50} ms, p99 ${result.decisionToOriginMillis.p99} ms`
    )
    return result
  } finally {
    origin.closeAllConnections()
    await new Promise<void>((resolve) => origin.close(() => resolve()))
  }
}

async function seed(gateway: BenchGateway, originUrl: string) {
  const { admin } = gateway
  await admin.json('PUT', '/v1/admin/connections/held', {
    json: { kind: 'http', target: { url: originUrl } },
  })
  await admin.json('PUT', '/v1/admin/policy', {
    json: {
      version: 1,
      groups: { approvers: { members: ['agent:bench-approver'] } },
      connections: {
        held: {
          grants: ['agent:bench-requester'],
          approval: { approvers: ['group:approvers'] },
          rules: [{ name: 'hold-everything', action: 'require_approval' }],
        },
      },
    },
  })
  const mint = async (name: string) =>
    (
      await admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
        json: { name, connections: ['held'] },
      })
    ).token
  return { requester: await mint('bench-requester'), approver: await mint('bench-approver') }
}

/** The id of the pending approval whose summary names `path`. */
async function pendingId(gateway: BenchGateway, path: string): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const { approvals } = await gateway.admin.json<{
      approvals: { id: string; summary: string }[]
    }>('GET', '/v1/admin/approvals?state=pending&connection=held')
    const found = approvals.find((row) => row.summary.includes(path))
    if (found) return found.id
    if (Date.now() > deadline) throw new Error(`no pending approval for ${path}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

function rounded(stats: { p50: number; p99: number; mean: number }) {
  const round = (value: number) => Math.round(value * 100) / 100
  return { p50: round(stats.p50), p99: round(stats.p99), mean: round(stats.mean) }
}
