/**
 * `gatehouse dev`: the whole local stack in one command, the one `npm start` runs.
 *
 *   state (secrets) → ports free? → D1 migrations → demo origin → wrangler dev
 *   → /healthz → seed through the admin API → banner → run until Ctrl+C or wrangler dies
 *
 * Progress and logs go to stderr; stdout carries only the banner. Whatever happens, the
 * processes and servers started here are stopped before returning.
 */
import { isAbsolute, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GatehouseClient, GatewayError } from '../client.ts'
import { CliError, note, print } from '../output.ts'
import { formatBanner } from './banner.ts'
import { type DemoOrigin, startDemoOrigin } from './demo-origin.ts'
import { assertPortFree } from './ports.ts'
import { seedDemo } from './seed.ts'
import { openDevState } from './state.ts'
import { applyMigrations, type DevServer, indent, startWranglerDev } from './wrangler.ts'

const HOST = '127.0.0.1'
/** wrangler bundles the Worker and boots workerd before it answers; allow a slow first run. */
const READY_TIMEOUT_MS = 90_000
const READY_POLL_MS = 200

export type DevOptions = {
  port: number
  originPort: number
  /** Absolute path of the state directory. */
  state: string
  quiet: boolean
}

/** The project root: wrangler.toml, src/ and migrations/ live here. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Runs the stack until SIGINT/SIGTERM; throws a CliError (after stopping everything) on failure. */
export async function runDev(options: DevOptions): Promise<void> {
  const say = options.quiet ? () => {} : (text: string) => note(`gatehouse dev: ${text}`)
  const log = (prefix: string) =>
    options.quiet ? undefined : (line: string) => note(`[${prefix}] ${line}`)

  if (options.port === options.originPort) {
    throw new CliError('usage', '--port and --origin-port must differ', { exitCode: 2 })
  }
  await assertPortFree(HOST, options.port, 'the gateway', '--port')
  await assertPortFree(HOST, options.originPort, 'the demo origin', '--origin-port')

  const state = await openDevState(options.state)
  const stop = stopSignal()
  let origin: DemoOrigin | undefined
  let wrangler: DevServer | undefined
  try {
    say(state.created ? `new state in ${state.dir}` : `reusing state in ${state.dir}`)
    say('applying D1 migrations')
    await applyMigrations({ root: PROJECT_ROOT, persistDir: state.persistDir }).catch(
      (error: unknown) => {
        // A Ctrl+C in the terminal reaches the migration run too; that is not a failure.
        if (!stop.requested()) throw error
      }
    )
    if (stop.requested()) return

    origin = await startDemoOrigin({
      host: HOST,
      port: options.originPort,
      secret: state.demoOriginSecret,
      log: log('origin'),
    })
    say(`demo origin on ${origin.url}; starting wrangler dev`)
    wrangler = startWranglerDev({
      root: PROJECT_ROOT,
      persistDir: state.persistDir,
      envFile: state.envFile,
      port: options.port,
      onLine: log('wrangler'),
    })
    stop.onForce(wrangler.kill)
    const gatewayUrl = `http://${HOST}:${options.port}`
    if ((await waitUntilReady(gatewayUrl, wrangler, stop)) === 'stopped') return

    say('seeding the demo connection, policy and agent token')
    const client = new GatehouseClient({ gateway: gatewayUrl, token: state.adminToken })
    const seed = await seedDemo(client, { url: origin.url, secret: state.demoOriginSecret }).catch(
      (error: unknown) => {
        throw error instanceof GatewayError
          ? new CliError(
              'dev.seed_failed',
              `Seeding through the admin API failed: ${error.code}: ${error.message}`
            )
          : error
      }
    )
    if (stop.requested()) return
    print(
      formatBanner({
        gatewayUrl,
        originUrl: origin.url,
        stateDir: displayPath(state.dir),
        adminToken: state.adminToken,
        seed,
      })
    )

    const exit = await Promise.race([wrangler.exited, stop.promise.then(() => undefined)])
    if (exit === undefined || stop.requested()) return
    throw new CliError(
      'dev.wrangler_exited',
      `wrangler dev stopped unexpectedly (${exit.signal ?? `exit code ${exit.code}`}). Its last output:\n${indent(wrangler.tail())}`
    )
  } finally {
    if (stop.requested()) say(`${stop.requested()}: stopping`)
    await wrangler?.stop()
    await origin?.close()
    await state.release()
    stop.dispose()
    if (stop.requested()) say('stopped')
  }
}

/** A path relative to the current directory when it is inside it, else absolute. */
function displayPath(path: string): string {
  const inside = relative(process.cwd(), path)
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path
}

/** Polls /healthz until the gateway answers, wrangler exits, or a stop is requested. */
async function waitUntilReady(
  gatewayUrl: string,
  wrangler: DevServer,
  stop: StopSignal
): Promise<'ready' | 'stopped'> {
  let exited: Awaited<DevServer['exited']> | undefined
  wrangler.exited.then((result) => {
    exited = result
  })
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (stop.requested()) return 'stopped'
    if (exited) {
      throw new CliError(
        'dev.wrangler_exited',
        `wrangler dev exited (${exited.signal ?? `exit code ${exited.code}`}) before the gateway was ready. Its last output:\n${indent(wrangler.tail())}`
      )
    }
    const health = await fetch(`${gatewayUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })
      .then(async (response) => ({ status: response.status, text: await response.text() }))
      .catch(() => undefined)
    if (health?.status === 200) return 'ready'
    if (health) {
      // The Worker runs but refuses: most likely its configuration (config.invalid names the variable).
      throw new CliError(
        'dev.gateway_unhealthy',
        `${gatewayUrl}/healthz answered ${health.status}: ${health.text.trim()}`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
  }
  throw new CliError(
    'dev.gateway_timeout',
    `The gateway did not answer on ${gatewayUrl}/healthz within ${READY_TIMEOUT_MS / 1000} s. wrangler's last output:\n${indent(wrangler.tail())}`
  )
}

type StopSignal = {
  promise: Promise<NodeJS.Signals>
  /** The signal that asked us to stop, if one did. */
  requested: () => NodeJS.Signals | undefined
  /** What to do before exiting at once on a second signal. */
  onForce: (action: () => void) => void
  dispose: () => void
}

/**
 * SIGINT/SIGTERM end the stack in order (wrangler, then the origin). A second signal
 * while stopping means "now": wrangler's process group is killed and we exit at once.
 */
function stopSignal(): StopSignal {
  let received: NodeJS.Signals | undefined
  let force = () => {}
  let resolve: (signal: NodeJS.Signals) => void = () => {}
  const promise = new Promise<NodeJS.Signals>((done) => {
    resolve = done
  })
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      note(`gatehouse dev: ${signal} again, exiting now`)
      force()
      process.exit(130)
    }
    received = signal
    resolve(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    promise,
    requested: () => received,
    onForce: (action) => {
      force = action
    },
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
