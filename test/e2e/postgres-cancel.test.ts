/**
 * Cancelling a running statement through the tunnel: the protocol's CancelRequest arrives
 * on a new connection (its own WebSocket), and the gateway passes it on to the origin
 * backend the client was told about. The statement ends with 57014 and the session lives on.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  backendKeyOf,
  pgClient,
  running,
  SESSION_NOTICE,
  sendCancelRequest,
  spawnPsql,
  startTunnel,
  type Tunnel,
  untilRunning,
} from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

/** The statement must end well before pg_sleep(30) would. */
const CANCELLED_WITHIN_MS = 5_000

let tunnel: Tunnel

beforeAll(async () => {
  tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
})

afterAll(async () => {
  await tunnel?.stop()
})

describe('cancelling through gatehouse connect', () => {
  it('a CancelRequest ends pg_sleep(30) with SQLSTATE 57014 within seconds, and the client stays usable', async () => {
    const client = await pgClient(tunnel.port)
    try {
      const statement = 'SELECT pg_sleep(30) AS node_pg_cancel'
      const sleeping = client.query(statement).then(
        () => undefined,
        (error: unknown) => error
      )
      await untilRunning(statement)
      const started = Date.now()
      await sendCancelRequest(tunnel.port, backendKeyOf(client))
      const error = await sleeping
      expect(Date.now() - started).toBeLessThan(CANCELLED_WITHIN_MS)
      expect(error).toMatchObject({
        code: '57014',
        message: 'canceling statement due to user request',
      })
      expect(await running(statement)).toBe('0')
      expect((await client.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }])
    } finally {
      await client.end()
    }
  })

  it('psql sends the CancelRequest on SIGINT and reports the cancelled statement', async () => {
    const statement = 'SELECT pg_sleep(30) AS psql_cancel'
    const psql = spawnPsql(tunnel.port, ['-At', '-c', statement])
    await untilRunning(statement)
    const started = Date.now()
    psql.child.kill('SIGINT')
    const result = await psql.exited
    expect(Date.now() - started).toBeLessThan(CANCELLED_WITHIN_MS)
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(
      new RegExp(
        `${SESSION_NOTICE.source}Cancel request sent\\nERROR: {2}canceling statement due to user request\\n$`
      )
    )
    expect(await running(statement)).toBe('0')
  })
})
