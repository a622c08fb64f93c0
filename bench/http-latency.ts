/**
 * HTTP proxy latency, one run, three paths to the same origin: direct, through a bare
 * pass-through Worker, and through Gatehouse (authenticate, authorize, 101-rule policy,
 * write-ahead transcript to R2 + D1 index, credential injection, outcome recorded).
 * Both Workers run under `wrangler dev` on local D1/R2. Requests are sequential over
 * keep-alive connections and interleaved round by round, so drift hits all three alike.
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GatehouseClient } from '../cli/client.ts'
import { openDevState } from '../cli/dev/state.ts'
import { applyMigrations, type DevServer, startWranglerDev } from '../cli/dev/wrangler.ts'
import { freePort } from '../test/harness/free-port.ts'
import { startBenchOrigin } from './origin.ts'
import { hundredRulePolicy } from './policy-decision.ts'
import { summarize } from './stats.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PASSTHROUGH_CONFIG = fileURLToPath(new URL('./passthrough/wrangler.toml', import.meta.url))
const WARMUP_ROUNDS = 200
const ROUNDS = 1000
/** Idle time between rounds: this measures per-request latency, not saturation. */
const ROUND_GAP_MS = 10
const BACK_TO_BACK_ROUNDS = 500
const READY_TIMEOUT_MS = 120_000

type Target = {
  name: 'direct' | 'passthrough' | 'gateway'
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
  /** (Gatehouse − direct) divided by (pass-through − direct), at p50. */
  addedOverPassthroughAddedP50: number
  addedP50Millis: { passthrough: number; gateway: number }
}

export async function benchHttpLatency(log: (line: string) => void): Promise<HttpLatencyResult[]> {
  const state = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'))
  const origin = await startBenchOrigin()
  const servers: DevServer[] = []
  try {
    const dev = await openDevState(state)
    await applyMigrations({ root: ROOT, persistDir: dev.persistDir })
    const [gatewayPort, passPort, inspectorA, inspectorB] = await fourDistinctPorts()
    servers.push(
      startWranglerDev({
        root: ROOT,
        persistDir: dev.persistDir,
        envFile: dev.envFile,
        port: gatewayPort,
        inspectorPort: inspectorA,
      }),
      startWranglerDev({
        root: ROOT,
        config: PASSTHROUGH_CONFIG,
        persistDir: join(state, 'passthrough'),
        envFile: dev.envFile,
        port: passPort,
        inspectorPort: inspectorB,
        extraArgs: ['--var', `ORIGIN_URL:${origin.url}`],
      })
    )
    await Promise.all([
      waitReady(`http://127.0.0.1:${gatewayPort}/healthz`, servers[0]),
      waitReady(`http://127.0.0.1:${passPort}/`, servers[1]),
    ])
    log(`gateway on :${gatewayPort}, pass-through on :${passPort}, origin ${origin.url}`)

    const agentToken = await seedGateway(
      `http://127.0.0.1:${gatewayPort}`,
      dev.adminToken,
      origin.url
    )
    const originPort = Number(new URL(origin.url).port)
    const targets: Target[] = [
      { name: 'direct', port: originPort, path: '/bench/items?page=1', headers: {} },
      { name: 'passthrough', port: passPort, path: '/bench/items?page=1', headers: {} },
      {
        name: 'gateway',
        port: gatewayPort,
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
    return [spaced, backToBack]
  } finally {
    await Promise.all(servers.map((server) => server.stop()))
    await origin.close()
    await rm(state, { recursive: true, force: true })
  }
}

async function seedGateway(
  gateway: string,
  adminToken: string,
  originUrl: string
): Promise<string> {
  const admin = new GatehouseClient({ gateway, token: adminToken })
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
  const latencies: Latencies = { direct: [], passthrough: [], gateway: [] }
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
    gateway: rounded(summarize(latencies.gateway)),
  }
  const passAdded = millis.passthrough.p50 - millis.direct.p50
  const gatewayAdded = millis.gateway.p50 - millis.direct.p50
  return {
    mode,
    rounds,
    millis,
    gatewayOverPassthroughP50: round(millis.gateway.p50 / millis.passthrough.p50),
    addedOverPassthroughAddedP50: round(gatewayAdded / passAdded),
    addedP50Millis: { passthrough: round(passAdded), gateway: round(gatewayAdded) },
  }
}

async function waitReady(url: string, server: DevServer | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let exited = false
  server?.exited.then(() => {
    exited = true
  })
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url)
      await response.body?.cancel()
      if (response.ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${url} did not become ready:\n${server?.tail() ?? ''}`)
}

async function fourDistinctPorts(): Promise<[number, number, number, number]> {
  const ports = new Set<number>()
  while (ports.size < 4) ports.add(await freePort())
  const [a = 0, b = 0, c = 0, d = 0] = ports
  return [a, b, c, d]
}

function rounded(stats: { p50: number; p99: number; mean: number }) {
  return { p50: round(stats.p50), p99: round(stats.p99), mean: round(stats.mean) }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
