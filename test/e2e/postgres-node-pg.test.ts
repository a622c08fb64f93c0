/**
 * node-postgres (`pg`) through `gatehouse connect appdb`: the extended protocol with
 * parameters, a large result, refusals a driver can act on, and transactions.
 */
import { createHash } from 'node:crypto'
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { directSql, pgClient, startTunnel, type Tunnel } from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

let tunnel: Tunnel
const clients: pg.Client[] = []

beforeAll(async () => {
  tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
})

afterAll(async () => {
  await tunnel?.stop()
})

async function connect(): Promise<pg.Client> {
  const client = await pgClient(tunnel.port)
  clients.push(client)
  return client
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex')

describe('node-postgres through gatehouse connect', () => {
  it('binds $1, $2 as text and int parameters, and NULL', async () => {
    const client = await connect()
    const typed = await client.query('SELECT $1::text AS t, $2::int AS i, $3::text AS n', [
      'héllo wörld',
      42,
      null,
    ])
    expect(typed.rows).toEqual([{ t: 'héllo wörld', i: 42, n: null }])

    const filtered = await client.query(
      'SELECT id, email FROM customers WHERE id = $1 OR name = $2 ORDER BY id',
      [2, 'Alan Turing']
    )
    expect(filtered.rows).toEqual([
      { id: 2, email: 'grace@example.com' },
      { id: 3, email: 'alan@example.com' },
    ])
  })

  it('runs a named prepared statement again with other parameters', async () => {
    const client = await connect()
    const byId = { name: 'customer-by-id', text: 'SELECT email FROM customers WHERE id = $1' }
    expect((await client.query({ ...byId, values: [1] })).rows).toEqual([
      { email: 'ada@example.com' },
    ])
    expect((await client.query({ ...byId, values: [3] })).rows).toEqual([
      { email: 'alan@example.com' },
    ])
  })

  it('a 100 000-row SELECT arrives complete and in order', async () => {
    const client = await connect()
    const result = await client.query<{ n: number; digest: string }>(
      'SELECT n, digest FROM numbers ORDER BY n'
    )
    expect(result.rowCount).toBe(100_000)
    expect(result.rows).toHaveLength(100_000)
    expect(result.rows[0]).toEqual({ n: 1, digest: md5('1') })
    expect(result.rows.at(-1)).toEqual({ n: 100_000, digest: md5('100000') })
    expect(result.rows.every((row, index) => row.n === index + 1)).toBe(true)
  })

  it('a blocked query rejects with SQLSTATE 42501 and the rule reason, and the client stays usable', async () => {
    const client = await connect()
    await expect(
      client.query('SELECT value FROM secrets WHERE id = $1', [1])
    ).rejects.toMatchObject({
      code: '42501',
      severity: 'ERROR',
      message: 'The secrets table is off limits to agents.',
      detail: 'gatehouse: policy.blocked',
    })
    expect((await client.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([
      { n: 3 },
    ])
  })

  it('queued queries around a blocked one each get their own answer', async () => {
    const client = await connect()
    const settled = await Promise.allSettled([
      client.query('SELECT 1 AS one'),
      client.query('SELECT value FROM secrets'),
      client.query('SELECT 3 AS three'),
    ])
    expect(
      settled.map((each) => (each.status === 'fulfilled' ? each.value.rows : each.reason.code))
    ).toEqual([[{ one: 1 }], '42501', [{ three: 3 }]])
  })

  it('BEGIN, INSERT, ROLLBACK leaves no row behind', async () => {
    const client = await connect()
    const marker = `rolled-back-${Date.now()}`
    await client.query('BEGIN')
    await client.query('INSERT INTO orders (customer_id, total, status) VALUES ($1, $2, $3)', [
      2,
      '12.34',
      marker,
    ])
    const inside = await client.query('SELECT count(*)::int AS n FROM orders WHERE status = $1', [
      marker,
    ])
    expect(inside.rows).toEqual([{ n: 1 }])
    await client.query('ROLLBACK')

    const after = await client.query('SELECT count(*)::int AS n FROM orders WHERE status = $1', [
      marker,
    ])
    expect(after.rows).toEqual([{ n: 0 }])
    expect(await directSql(`SELECT count(*) FROM orders WHERE status = '${marker}'`)).toBe('0')
  })
})
