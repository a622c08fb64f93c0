/**
 * HTTP proxy latency, one run, four paths to the same origin: direct, through a bare
 * pass-through Worker, through the same Worker after one D1 read and one R2 put (the
 * storage floor of any design that checks revocation and writes ahead), and through
 * Gatehouse (authenticate, authorize, 101-rule policy, write-ahead transcript to R2 + D1
 * index, credential injection, outcome recorded). All Workers run under `wrangler dev` on
 * local D1/R2. Requests are sequential over keep-alive connections and interleaved round
 * by round, so drift hits all of them alike.
 */

import { Agent, request as httpRequest } from 'node:http'
import type { GatehouseClient } from '../cli/client.ts'
import type { BenchGateway } from './bench-gateway.ts'
import { startBenchOrigin } from './origin.ts'
import { hundredRulePolicy } from './policy-decision.ts'
import { summarize } from './stats.ts'
import { benchStorageFloor, type StorageFloor } from './storage-floor.ts'

const WARMUP_ROUNDS = 200
const ROUNDS = 1000
/** Idle time between rounds: this measures per-request latency, not saturation. */
const ROUND_GAP_MS = 10
const BACK_TO_BACK_ROUNDS = 500

type Target = {
  name: 'direct' | 'passthrough' | 'floor' | 'gateway'
  port: number
  path: string
  headers: Record<string, string>
}
type Latencies = Record<Target['name'], number[]>

export type HttpLatencyResult = {
  mode: string
  rounds: number
  millis: Record<Target['name'], { p50: number; p99: number; mean: number }>
  /** Gatehouse p50 divided by the pass-through Worker p50. */
  gatewayOverPassthroughP50: number
  /** The storage floor's p50 divided by the pass-through Worker's: below this no design goes. */
  floorOverPassthroughP50: number
  /** Gatehouse p50 divided by the storage floor's: what Gatehouse adds beyond it. */
  gatewayOverFloorP50: number
  /** (Gatehouse − direct) divided by (pass-through − direct), at p50. */
  addedOverPassthroughAddedP50: number
  addedP50Millis: { passthrough: number; floor: number; gateway: number }
}

export type HttpBench = { runs: HttpLatencyResult[]; storageFloor: StorageFloor }

export async function benchHttpLatency(
  gateway: BenchGateway,
  log: (line: string) => void
): Promise<HttpBench> {
  const origin = await startBenchOrigin()
  try {
    const passthrough = await gateway.startPassthrough(origin.url)
    log(`gateway on :${gateway.port}, pass-through on :${passthrough.port}, origin ${origin.url}`)
    const agentToken = await seedGateway(gateway.admin, origin.url)
    const originPort = Number(new URL(origin.url).port)
    const targets: Target[] = [
      { name: 'direct', port: originPort, path: '/bench/items?page=1', headers: {} },
      { name: 'passthrough', port: passthrough.port, path: '/bench/items?page=1', headers: {} },
      {
        name: 'floor',
        port: passthrough.port,
        path: '/__floor/bench/items?page=1',
        headers: {},
      },
      {
        name: 'gateway',
        port: gateway.port,
        path: '/proxy/bench/bench/items?page=1',
        headers: { authorization: `Bearer ${agentToken}` },
      },
    ]
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    await measure(targets, agent, WARMUP_ROUNDS, 0)
    log(`measuring ${ROUNDS} spaced rounds`)
    const spaced = result(
      `sequential, ${ROUND_GAP_MS} ms idle between rounds`,
      ROUNDS,
      await measure(targets, agent, ROUNDS, ROUND_GAP_MS)
    )
    log(`measuring ${BACK_TO_BACK_ROUNDS} back-to-back rounds`)
    const backToBack = result(
      'sequential, back to back',
      BACK_TO_BACK_ROUNDS,
      await measure(targets, agent, BACK_TO_BACK_ROUNDS, 0)
    )
    agent.destroy()
    log('local D1 and R2 simulator rates')
    const storageFloor = await benchStorageFloor(passthrough.port)
    return { runs: [spaced, backToBack], storageFloor }
  } finally {
    await origin.close()
  }
}

async function seedGateway(admin: GatehouseClient, originUrl: string): Promise<string> {
  await admin.json('PUT', '/v1/admin/connections/bench', {
    json: {
      kind: 'http',
      target: { url: originUrl },
      credential: { type: 'bearer', token: 'bench-origin-secret' },
    },
  })
  const policy = hundredRulePolicy()
  const api = policy.connections?.api
  if (!api) throw new Error('the 100-rule policy lost its connection')
  // The request below only matches after all 100 rules have been tried.
  api.rules = [
    ...(api.rules ?? []),
    { name: 'bench-reads', match: { methods: ['GET'], paths: ['/bench/**'] }, action: 'allow' },
  ]
  await admin.json('PUT', '/v1/admin/policy', { json: { ...policy, connections: { bench: api } } })
  const { token } = await admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
    json: { name: 'bench-agent', connections: ['bench'] },
  })
  return token
}

async function measure(
  targets: Target[],
  agent: Agent,
  rounds: number,
  gapMs: number
): Promise<Latencies> {
  const latencies: Latencies = { direct: [], passthrough: [], floor: [], gateway: [] }
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no target always runs first (or right after the gateway).
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(round + i) % targets.length] as Target
      latencies[target.name].push(await timedGet(target, agent))
    }
    if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs))
  }
  return latencies
}

function timedGet(target: Target, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const request = httpRequest(
      { host: '127.0.0.1', port: target.port, path: target.path, headers: target.headers, agent },
      (response) => {
        response.resume()
        response.on('end', () => {
          if (response.statusCode !== 200)
            reject(new Error(`${target.name} answered ${response.statusCode}`))
          else resolve(Number(process.hrtime.bigint() - start) / 1e6)
        })
      }
    )
    request.on('error', reject)
    request.end()
  })
}

function result(mode: string, rounds: number, latencies: Latencies): HttpLatencyResult {
  const millis = {
    direct: rounded(summarize(latencies.direct)),
    passthrough: rounded(summarize(latencies.passthrough)),
    floor: rounded(summarize(latencies.floor)),
    gateway: rounded(summarize(latencies.gateway)),
  }
  const passAdded = millis.passthrough.p50 - millis.direct.p50
  const floorAdded = millis.floor.p50 - millis.direct.p50
  const gatewayAdded = millis.gateway.p50 - millis.direct.p50
  return {
    mode,
    rounds,
    millis,
    gatewayOverPassthroughP50: round(millis.gateway.p50 / millis.passthrough.p50),
    floorOverPassthroughP50: round(millis.floor.p50 / millis.passthrough.p50),
    gatewayOverFloorP50: round(millis.gateway.p50 / millis.floor.p50),
    addedOverPassthroughAddedP50: round(gatewayAdded / passAdded),
    addedP50Millis: {
      passthrough: round(passAdded),
      floor: round(floorAdded),
      gateway: round(gatewayAdded),
    },
  }
}

function rounded(stats: { p50: number; p99: number; mean: number }) {
  return { p50: round(stats.p50), p99: round(stats.p99), mean: round(stats.mean) }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
