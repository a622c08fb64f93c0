/**
 * pgbench select-only through the Postgres tunnel against the same database directly, in
 * one run: `gatehouse connect` listening locally, the gateway under wrangler dev writing
 * every statement ahead to R2 before forwarding it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { freePort } from '../test/harness/free-port.ts'
import { PG_ROLES, startPostgres } from '../test/harness/postgres-server.ts'
import { type BenchGateway, ROOT } from './bench-gateway.ts'

const CLIENTS = 4
const SECONDS = 10
const SCALE = 10
const CONNECT_READY_MS = 30_000

export type PgbenchRun = { directTps: number; tunnelTps: number; ratio: number }
export type PgbenchResult = {
  clients: number
  seconds: number
  scale: number
  simple: PgbenchRun
  prepared: PgbenchRun
}

export async function benchPgbench(
  gateway: BenchGateway,
  log: (line: string) => void
): Promise<PgbenchResult> {
  const postgres = await startPostgres()
  let tunnel: ChildProcess | undefined
  try {
    const env = { ...process.env, PGPASSWORD: PG_ROLES.scram.password }
    await promisify(execFile)(
      'pgbench',
      ['-i', '-q', '-s', String(SCALE), ...direct(postgres.port)],
      { env }
    )
    await gateway.admin.json('PUT', '/v1/admin/connections/pgbench', {
      json: {
        kind: 'postgres',
        target: { host: '127.0.0.1', port: postgres.port, database: 'app', tls: 'disable' },
        credential: {
          type: 'password',
          username: PG_ROLES.scram.user,
          password: PG_ROLES.scram.password,
        },
      },
    })
    await gateway.admin.json('PUT', '/v1/admin/policy', {
      json: {
        version: 1,
        connections: {
          pgbench: {
            grants: ['agent:bench-pg'],
            rules: [
              {
                name: 'reads',
                match: { classes: ['read', 'session', 'transaction', 'utility'] },
                action: 'allow',
              },
            ],
          },
        },
      },
    })
    const { token } = await gateway.admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
      json: { name: 'bench-pg', connections: ['pgbench'] },
    })
    const port = await freePort()
    tunnel = await startTunnel(gateway.url, token, port)
    log(`pgbench: PG on :${postgres.port}, tunnel on :${port}`)

    const run = async (mode: 'simple' | 'prepared', target: string[]) => {
      const { stdout } = await promisify(execFile)(
        'pgbench',
        [
          '-S',
          '-n',
          '-M',
          mode,
          '-c',
          String(CLIENTS),
          '-j',
          '2',
          '-T',
          String(SECONDS),
          ...target,
        ],
        { env, maxBuffer: 16 * 1024 * 1024 }
      )
      const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1]
      if (failed && failed !== '0')
        throw new Error(`pgbench ${mode} had ${failed} failed transactions`)
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]
      if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`)
      return Number(tps)
    }
    const result = async (mode: 'simple' | 'prepared'): Promise<PgbenchRun> => {
      const directTps = await run(mode, direct(postgres.port))
      const tunnelTps = await run(mode, [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'agent',
        'app',
      ])
      log(`pgbench ${mode}: direct ${directTps.toFixed(0)} tps, tunnel ${tunnelTps.toFixed(0)} tps`)
      return {
        directTps: round(directTps),
        tunnelTps: round(tunnelTps),
        ratio: round(tunnelTps / directTps),
      }
    }
    return {
      clients: CLIENTS,
      seconds: SECONDS,
      scale: SCALE,
      simple: await result('simple'),
      prepared: await result('prepared'),
    }
  } finally {
    tunnel?.kill('SIGTERM')
    await postgres.stop()
  }
}

function direct(port: number): string[] {
  return ['-h', '127.0.0.1', '-p', String(port), '-U', PG_ROLES.scram.user, 'app']
}

/** `gatehouse connect <connection>`, resolved once it says it is listening. */
export function startTunnel(
  gateway: string,
  token: string,
  port: number,
  connection = 'pgbench'
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['cli/gatehouse.ts', 'connect', connection, '--port', String(port)],
      {
        cwd: ROOT,
        env: { ...process.env, GATEHOUSE_URL: gateway, GATEHOUSE_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      }
    )
    let output = ''
    const timer = setTimeout(
      () => reject(new Error(`gatehouse connect did not start:\n${output}`)),
      CONNECT_READY_MS
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (/listening/i.test(output)) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gatehouse connect exited with ${code}:\n${output}`))
    })
  })
}

export function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
