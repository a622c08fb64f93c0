/**
 * Killing a live psql session, with the real parts: psql through `gatehouse connect`, the
 * kill sent by `gatehouse sessions kill` (and by the admin API), and the running statement
 * cancelled at the origin. psql sees what a pg_terminate_backend would show it: FATAL 57P01
 * and the connection gone.
 */
import { spawn } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PG_DATABASE } from '../harness/postgres-server.ts'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { eventually } from './support/gateway.ts'
import {
  CONNECT_TIMEOUT_S,
  clientEnv,
  type ProcessResult,
  psql,
  running,
  SESSION_NOTICE,
  sessionIdFrom,
  spawnPsql,
  startTunnel,
  type Tunnel,
  tunnelConninfo,
  untilRunning,
} from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

const TERMINATED = 'FATAL:  terminating connection due to administrator command.'

let tunnel: Tunnel

beforeAll(async () => {
  tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
})

afterAll(async () => {
  await tunnel?.stop()
})

/** The session id psql was told in its first NOTICE, once it has been told. */
async function sessionOf(stderr: () => string): Promise<string> {
  return eventually(async () => sessionIdFrom(stderr()))
}

/** The transcript of a session once it has closed, as the admin CLI prints it. */
async function closedTranscript(id: string): Promise<string> {
  return eventually(async () => {
    const shown = await gatehouse(['sessions', 'show', id])
    if (shown.code !== 0 || !shown.stdout.includes(', closed,')) throw new Error(shown.stderr)
    return shown.stdout
  })
}

describe('killing a live psql session', () => {
  it('gatehouse sessions kill ends a running statement: psql reports the termination and exits', async () => {
    const statement = 'SELECT pg_sleep(30) AS killed_by_cli'
    const psql = spawnPsql(tunnel.port, ['-At', '-c', statement])
    await untilRunning(statement)
    const id = await sessionOf(psql.stderr)

    const started = performance.now()
    const killed = await gatehouse(['sessions', 'kill', id, '--reason', 'e2e: contain psql'])
    const cliDone = performance.now()
    const result = await psql.exited
    const psqlDone = performance.now()
    console.log(
      `kill via CLI → psql exit: ${Math.round(psqlDone - started)} ms from the CLI's start, ` +
        `${Math.round(psqlDone - cliDone)} ms after the CLI exited`
    )

    expect(killed).toMatchObject({
      code: 0,
      stdout: `Killed session ${id}; it is ending now.\n`,
    })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(
      new RegExp(
        `${SESSION_NOTICE.source}${escapeRegExp(TERMINATED)}\\nDETAIL: {2}gatehouse: session.killed\\n`
      )
    )
    expect(result.stderr).toContain('server closed the connection unexpectedly')
    expect(await eventually(async () => expectValue(await running(statement), '0'))).toBe('0')

    const transcript = await closedTranscript(id)
    expect(transcript).toContain(
      'session.killed: terminating connection due to administrator command. (killed by admin:bootstrap: e2e: contain psql)'
    )
  })

  it('an idle psql session learns of the kill at its next statement', async () => {
    const child = spawn('psql', [tunnelConninfo(tunnel.port), '-At'], {
      env: clientEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const exited = new Promise<ProcessResult>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    )
    child.stdin.write('SELECT 1 AS before_kill;\n')
    await eventually(async () => expectValue(stdout, '1\n'))
    const id = sessionIdFrom(stderr)

    const response = await killByApi(id, 'e2e: idle session')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ sessionId: id, first: true, woken: 1 })
    // The index closes the session once the tunnel has ended: that is the end, seen from outside.
    await closedTranscript(id)

    child.stdin.end('SELECT 2 AS after_kill;\n')
    const result = await exited
    expect(result.stdout).toBe('1\n')
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(TERMINATED)
  })

  it('an idle node-postgres client sees FATAL 57P01 and its connection end', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: tunnel.port,
      database: PG_DATABASE,
      user: 'e2e-agent',
      connectionTimeoutMillis: CONNECT_TIMEOUT_S * 1000,
    })
    let notices = ''
    client.on('notice', (notice) => {
      notices += `NOTICE:  ${notice.message}\n`
    })
    const ended = new Promise<number>((resolve) =>
      client.once('end', () => resolve(performance.now()))
    )
    // The FATAL arrives as one error, the connection's end as another.
    const errors: unknown[] = []
    client.on('error', (error) => errors.push(error))
    await client.connect()
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    const id = sessionIdFrom(notices)

    const started = performance.now()
    const response = await killByApi(id, 'e2e: idle node-postgres')
    const answered = performance.now()
    expect(response.status).toBe(200)
    const endedAt = await ended
    console.log(
      `kill via admin API → node-postgres connection end: ${Math.round(endedAt - started)} ms ` +
        `(the API answered after ${Math.round(answered - started)} ms)`
    )
    expect(errors[0]).toMatchObject({
      code: '57P01',
      message: 'terminating connection due to administrator command.',
    })
  })
})

describe('locking with the CLI', () => {
  it('gatehouse lock token:<id> refuses that token until gatehouse unlock', async () => {
    const { id, token } = await gatehouseJson<{ id: string; token: string }>([
      'token',
      'create',
      '--name',
      'e2e-pg-agent',
      '--connections',
      APP_CONNECTION,
      '--description',
      'e2e: containment',
    ])
    const own = await startTunnel(APP_CONNECTION, token)
    try {
      expect(await psql(own.port, ['-At', '-c', 'SELECT 1'])).toMatchObject({ code: 0 })

      const locked = await gatehouse(['lock', `token:${id}`, '--reason', 'e2e: leaked token'])
      expect(locked).toMatchObject({
        code: 0,
        stdout: `Locked token:${id}: its traffic is refused until \`gatehouse unlock token:${id}\`.\n`,
      })
      const listed = await gatehouseJson<{ locks: { subject: string; reason: string }[] }>([
        'locks',
      ])
      expect(listed.locks).toContainEqual(
        expect.objectContaining({ subject: `token:${id}`, reason: 'e2e: leaked token' })
      )
      const refused = await psql(own.port, ['-At', '-c', 'SELECT 1'])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain(
        'access.locked: This caller is locked by an administrator; its traffic is refused until it is unlocked.'
      )
      // The agent's other token is not locked.
      expect(await psql(tunnel.port, ['-At', '-c', 'SELECT 1'])).toMatchObject({ code: 0 })

      expect(await gatehouse(['unlock', `token:${id}`])).toMatchObject({
        code: 0,
        stdout: `Unlocked token:${id}.\n`,
      })
      expect(await psql(own.port, ['-At', '-c', 'SELECT 1'])).toMatchObject({ code: 0 })
    } finally {
      await own.stop()
      await gatehouse(['token', 'revoke', id])
    }
  })
})

/** POST /v1/admin/sessions/:id/kill with the admin token. */
function killByApi(id: string, reason: string): Promise<Response> {
  return fetch(`${inject('gatewayUrl')}/v1/admin/sessions/${id}/kill`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${inject('adminToken')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ reason }),
  })
}

function expectValue<T>(actual: T, expected: T): T {
  if (actual !== expected) throw new Error(`not yet: ${String(actual)}`)
  return actual
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
