/**
 * The gateway the benchmarks measure: the real Worker under `wrangler dev` on local D1/R2,
 * with its own state directory and secrets, started once per `npm run bench`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GatehouseClient } from '../cli/client.ts'
import { openDevState } from '../cli/dev/state.ts'
import { applyMigrations, type DevServer, startWranglerDev } from '../cli/dev/wrangler.ts'
import { freePort } from '../test/harness/free-port.ts'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PASSTHROUGH_CONFIG = fileURLToPath(new URL('./passthrough/wrangler.toml', import.meta.url))
const READY_TIMEOUT_MS = 120_000

export type BenchGateway = {
  url: string
  port: number
  admin: GatehouseClient
  /** Starts the bare pass-through Worker to `originUrl`, under the same wrangler dev. */
  startPassthrough: (originUrl: string) => Promise<{ port: number }>
  stop: () => Promise<void>
}

export async function startBenchGateway(): Promise<BenchGateway> {
  const state = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'))
  const servers: DevServer[] = []
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()))
    await rm(state, { recursive: true, force: true })
  }
  try {
    const dev = await openDevState(state)
    await applyMigrations({ root: ROOT, persistDir: dev.persistDir })
    const [port, inspector] = await distinctPorts()
    const gateway = startWranglerDev({
      root: ROOT,
      persistDir: dev.persistDir,
      envFile: dev.envFile,
      port,
      inspectorPort: inspector,
    })
    servers.push(gateway)
    const url = `http://127.0.0.1:${port}`
    await waitReady(`${url}/healthz`, gateway)
    return {
      url,
      port,
      admin: new GatehouseClient({ gateway: url, token: dev.adminToken }),
      startPassthrough: async (originUrl) => {
        const [passPort, passInspector] = await distinctPorts([port, inspector])
        const passthrough = startWranglerDev({
          root: ROOT,
          config: PASSTHROUGH_CONFIG,
          persistDir: join(state, 'passthrough'),
          envFile: dev.envFile,
          port: passPort,
          inspectorPort: passInspector,
          extraArgs: ['--var', `ORIGIN_URL:${originUrl}`],
        })
        servers.push(passthrough)
        await waitReady(`http://127.0.0.1:${passPort}/`, passthrough)
        return { port: passPort }
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function waitReady(url: string, server: DevServer): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let exited = false
  server.exited.then(() => {
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
  throw new Error(`${url} did not become ready:\n${server.tail()}`)
}

/** Two free loopback ports, distinct from each other and from `taken`. */
async function distinctPorts(taken: readonly number[] = []): Promise<[number, number]> {
  const ports = new Set<number>()
  while (ports.size < 2) {
    const port = await freePort()
    if (!taken.includes(port)) ports.add(port)
  }
  const [first = 0, second = 0] = ports
  return [first, second]
}
