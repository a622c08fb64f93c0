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
import {
  applyMigrations,
  type DevServer,
  startWranglerDev,
  waitUntilServing,
} from '../cli/dev/wrangler.ts'
import { distinctFreePorts } from '../test/harness/free-port.ts'

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
    const [port, inspector] = await distinctFreePorts()
    const gateway = startWranglerDev({
      root: ROOT,
      persistDir: dev.persistDir,
      envFile: dev.envFile,
      port,
      inspectorPort: inspector,
    })
    servers.push(gateway)
    const url = `http://127.0.0.1:${port}`
    await waitUntilServing(`${url}/healthz`, gateway, READY_TIMEOUT_MS)
    return {
      url,
      port,
      admin: new GatehouseClient({ gateway: url, token: dev.adminToken }),
      startPassthrough: async (originUrl) => {
        const [passPort, passInspector] = await distinctFreePorts([port, inspector])
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
        await waitUntilServing(`http://127.0.0.1:${passPort}/`, passthrough, READY_TIMEOUT_MS)
        return { port: passPort }
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
