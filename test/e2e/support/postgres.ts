/**
 * Real Postgres clients through a real tunnel: `gatehouse connect` as a child process (as
 * an agent runs it), psql and pgbench as processes, node-postgres in the test itself, and
 * a direct superuser psql to the cluster for checking what the origin holds.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import pg from 'pg'
import { inject } from 'vitest'
import { CLI_PATH, REPO_ROOT, withoutGatehouseEnv } from '../../harness/dev-stack.ts'
import { freePort } from '../../harness/free-port.ts'
import { PG_DATABASE, PG_ROLES } from '../../harness/postgres-server.ts'

const LISTENING_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 10_000
/** What the tunnel's clients wait for a connection; the gateway answers in milliseconds. */
export const CONNECT_TIMEOUT_S = 10

export type ProcessResult = {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export type Tunnel = {
  port: number
  process: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Sends `signal` (SIGINT, like Ctrl+C) and resolves once the process has exited. */
  stop: (signal?: NodeJS.Signals) => Promise<ProcessResult>
}

/**
 * Runs `gatehouse connect NAME --port <free>` with the token in GATEHOUSE_TOKEN and waits
 * for its "listening" line; `gateway` defaults to the shared e2e dev stack.
 */
export async function startTunnel(
  connection: string,
  token: string,
  gateway: string = inject('gatewayUrl')
): Promise<Tunnel> {
  const port = await freePort()
  const env = withoutGatehouseEnv()
  env.GATEHOUSE_URL = gateway
  env.GATEHOUSE_TOKEN = token
  const child = spawn(process.execPath, [CLI_PATH, 'connect', connection, '--port', `${port}`], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = collect(child)
  const listening = `listening on 127.0.0.1:${port}.`
  const deadline = Date.now() + LISTENING_TIMEOUT_MS
  while (!output.stdout().includes(listening)) {
    if (output.ended() || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(
        `gatehouse connect ${connection} did not start listening:\n${output.stdout()}${output.stderr()}`
      )
    }
    await sleep(50)
  }
  return {
    port,
    process: child,
    stdout: output.stdout,
    stderr: output.stderr,
    stop: async (signal = 'SIGINT') => {
      if (!output.ended()) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      const result = await output.exited
      clearTimeout(timer)
      return result
    },
  }
}

/** The environment for Postgres clients: no PG* variables from the developer's shell. */
export function clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = withoutGatehouseEnv()
  for (const name of Object.keys(env)) if (name.startsWith('PG')) delete env[name]
  return { ...env, PGCONNECT_TIMEOUT: `${CONNECT_TIMEOUT_S}`, ...extra }
}

/** libpq connection string for the tunnel; the user and database asked for are only recorded. */
export function tunnelConninfo(port: number, database = PG_DATABASE): string {
  return `host=127.0.0.1 port=${port} dbname=${database} user=e2e-agent sslmode=prefer`
}

export type RunOptions = { input?: string; env?: Record<string, string>; timeoutMs?: number }

/** Runs a program to completion and collects what it printed. */
export function run(
  program: string,
  args: string[],
  options: RunOptions = {}
): Promise<ProcessResult> {
  const child = spawn(program, args, {
    env: clientEnv(options.env),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  child.stdin?.end(options.input)
  const output = collect(child)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000)
  return output.exited.finally(() => clearTimeout(timer))
}

/** psql through the tunnel: `psql "<conninfo>" <args>`. */
export function psql(port: number, args: string[], options: RunOptions = {}) {
  return run('psql', [tunnelConninfo(port), ...args], options)
}

/** Starts psql through the tunnel without waiting, for tests that signal it mid-query. */
export function spawnPsql(port: number, args: string[]) {
  const child = spawn('psql', [tunnelConninfo(port), ...args], {
    env: clientEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return { child, ...collect(child) }
}

/** A connected node-postgres client on the tunnel; the caller ends it. */
export async function pgClient(port: number): Promise<pg.Client> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    database: PG_DATABASE,
    user: 'e2e-agent',
    connectionTimeoutMillis: CONNECT_TIMEOUT_S * 1000,
  })
  await client.connect()
  return client
}

/** What the server told a client on connect (BackendKeyData), kept by node-postgres. */
export function backendKeyOf(client: pg.Client): { processId: number; secretKey: number } {
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number }
  return { processId: processID, secretKey }
}

/**
 * Sends a CancelRequest on a new connection to the tunnel, as libpq's PQcancel does
 * (Postgres protocol: 55.2.8 Canceling Requests in Progress), and waits for the close.
 */
export function sendCancelRequest(
  port: number,
  key: { processId: number; secretKey: number }
): Promise<void> {
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(80_877_102, 4)
  packet.writeInt32BE(key.processId, 8)
  packet.writeInt32BE(key.secretKey, 12)
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(packet))
    socket.once('error', reject)
    socket.once('close', () => resolve())
    socket.resume()
  })
}

/** Runs SQL on the cluster directly as the superuser (never through the gateway). */
export async function directSql(statement: string, database = PG_DATABASE): Promise<string> {
  const result = await run(
    'psql',
    [
      `host=127.0.0.1 port=${inject('postgresPort')} dbname=${database} user=${PG_ROLES.admin.user}`,
      '-v',
      'ON_ERROR_STOP=1',
      '-At',
      '-c',
      statement,
    ],
    { env: { PGPASSWORD: PG_ROLES.admin.password } }
  )
  if (result.code !== 0) throw new Error(`direct psql failed: ${result.stderr}`)
  return result.stdout.trim()
}

/** How many origin backends are running `statement` right now. */
export function running(statement: string): Promise<string> {
  return directSql(
    `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '${statement}'`
  )
}

/** Waits until the origin runs `statement`, so a cancel or kill cannot arrive before it. */
export async function untilRunning(statement: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while ((await running(statement)) !== '1') {
    if (Date.now() > deadline) throw new Error(`the origin never ran ${statement}`)
    await sleep(100)
  }
}

/** The session id from the NOTICE the gateway sends every client on connect. */
export function sessionIdFrom(stderr: string): string {
  const id = /this session is recorded as ([0-9a-f-]{36})\./.exec(stderr)?.[1]
  if (!id) throw new Error(`no Gatehouse session notice in:\n${stderr}`)
  return id
}

export const SESSION_NOTICE =
  /^NOTICE: {2}Connected through Gatehouse; this session is recorded as [0-9a-f-]{36}\.\n/

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function collect(child: ChildProcess) {
  let stdout = ''
  let stderr = ''
  let ended = false
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const exited = new Promise<ProcessResult>((resolve) => {
    child.once('close', (code, signal) => {
      ended = true
      resolve({ code, signal, stdout, stderr })
    })
    child.once('error', (error) => {
      ended = true
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${error.message}` })
    })
  })
  return { stdout: () => stdout, stderr: () => stderr, ended: () => ended, exited }
}
