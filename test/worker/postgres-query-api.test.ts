import { beforeAll, describe, expect, inject, it } from 'vitest'
import { PG_ROLES } from '../harness/postgres-roles.ts'
import { decideWith, personToken } from './support/approvals.ts'
import {
  admin,
  applyPolicy,
  asAgent,
  errorOf,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'

let token: string

async function query(body: unknown, connection = 'sqlapi') {
  return gatewayFetch(
    `/v1/connections/${connection}/query`,
    asAgent(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  )
}

async function rows(body: unknown) {
  const response = await query(body)
  expect(response.status, await response.clone().text()).toBe(200)
  return (await response.json()) as {
    columns: { name: string; type: string }[]
    rows: unknown[][]
    rowCount: number
    command: string
    truncated: boolean
    sessionId: string
  }
}

beforeAll(async () => {
  const response = await admin('PUT', '/connections/sqlapi', {
    kind: 'postgres',
    target: { host: '127.0.0.1', port: inject('postgresPort'), database: 'app', tls: 'disable' },
    credential: {
      type: 'password',
      username: PG_ROLES.scram.user,
      password: PG_ROLES.scram.password,
    },
  })
  expect(response.status).toBe(201)
  await putHttpConnection('web', { url: originUrl() })
  await applyPolicy({
    version: 1,
    connections: {
      sqlapi: {
        grants: ['agent:api-bot'],
        rules: [
          {
            name: 'no-secrets',
            match: { tables: ['secrets'] },
            action: 'block',
            reason: 'Secrets are off limits.',
          },
          { name: 'reads', match: { classes: ['read'] }, action: 'allow' },
          {
            name: 'order-writes',
            match: { classes: ['write'], tables: ['orders'] },
            action: 'allow',
          },
          {
            name: 'number-writes',
            match: { classes: ['write'], tables: ['numbers'] },
            action: 'require_approval',
            approvers: ['idp:dba'],
          },
        ],
      },
      web: { grants: ['agent:api-bot'], default: 'allow' },
    },
  })
  ;({ token } = await mintToken('api-bot', ['*']))
})

describe('POST /v1/connections/:name/query', () => {
  it('runs a parameterised select and returns typed columns and rows', async () => {
    expect(
      await rows({
        sql: 'SELECT id, email, id > $1 AS later FROM customers WHERE id <= $2 ORDER BY id',
        params: [1, '2'],
      })
    ).toMatchObject({
      columns: [
        { name: 'id', type: 'int4' },
        { name: 'email', type: 'text' },
        { name: 'later', type: 'bool' },
      ],
      rows: [
        [1, 'ada@example.com', false],
        [2, 'grace@example.com', true],
      ],
      rowCount: 2,
      command: 'SELECT 2',
      truncated: false,
    })
  })

  it('keeps exact numbers as strings and parses JSON', async () => {
    const result = await rows({
      sql: "SELECT 9007199254740993::int8 AS big, 42.50::numeric AS price, '{\"a\":[1,2]}'::jsonb AS doc, NULL::text AS nothing, 'NaN'::float8 AS nan, 1.5::float8 AS ratio",
    })
    expect(result.rows).toEqual([['9007199254740993', '42.50', { a: [1, 2] }, null, 'NaN', 1.5]])
  })

  it('sends parameters as data, never as SQL', async () => {
    const result = await rows({
      sql: 'SELECT count(*) FROM customers WHERE email = $1',
      params: ["x' OR '1'='1"],
    })
    expect(result.rows).toEqual([['0']])
  })

  it('truncates at maxRows and says so', async () => {
    const result = await rows({ sql: 'SELECT n FROM numbers ORDER BY n LIMIT 10', maxRows: 3 })
    expect(result).toMatchObject({ rows: [[1], [2], [3]], rowCount: 3, truncated: true })
  })

  it('returns a 100 000-row result whole', async () => {
    const result = await rows({ sql: 'SELECT n, digest FROM numbers ORDER BY n', maxRows: 100_000 })
    expect(result.rowCount).toBe(100_000)
    expect(result.rows[99_999]?.[0]).toBe(100_000)
    expect(result.truncated).toBe(false)
  })

  it('blocks by policy with 403 and never runs the statement', async () => {
    const blocked = await query({ sql: 'DELETE FROM customers WHERE id = $1', params: [3] })
    expect(await errorOf(blocked)).toMatchObject({ status: 403, code: 'policy.blocked' })
    expect((await rows({ sql: 'SELECT count(*) FROM customers' })).rows).toEqual([['3']])
  })

  it('blocks a table tripwire inside a subquery', async () => {
    const blocked = await query({ sql: 'SELECT (SELECT value FROM secrets LIMIT 1) AS v' })
    expect(await errorOf(blocked)).toEqual({
      status: 403,
      code: 'policy.blocked',
      message: 'Secrets are off limits.',
    })
  })

  it('fails closed on SQL the parser cannot read', async () => {
    expect(await errorOf(await query({ sql: 'SELEC * FROM customers' }))).toMatchObject({
      status: 403,
      code: 'policy.blocked',
    })
  })

  it('refuses more than one statement per request', async () => {
    expect(await errorOf(await query({ sql: 'SELECT 1; SELECT 2' }))).toMatchObject({
      status: 400,
      code: 'request.invalid',
    })
  })

  it('answers an origin error with 422 query.failed and its SQLSTATE', async () => {
    const response = await query({ sql: 'SELECT * FROM missing_table' })
    const body = (await response.json()) as { error: { code: string; data: { sqlState: string } } }
    expect(response.status).toBe(422)
    expect(body.error).toMatchObject({ code: 'query.failed', data: { sqlState: '42P01' } })
  })

  it('runs an allowed write and reports its command tag', async () => {
    const result = await rows({
      sql: 'UPDATE orders SET status = $1 WHERE id = $2 RETURNING id',
      params: ['shipped', 2],
    })
    expect(result).toMatchObject({ command: 'UPDATE 1', rows: [[2]] })
  })

  it('rejects a malformed body with the zod issues', async () => {
    const response = await query({ sql: 'SELECT 1', maxRows: 0, extra: true })
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'request.invalid' })
  })

  it('refuses an HTTP connection with request.wrong_protocol', async () => {
    expect(await errorOf(await query({ sql: 'SELECT 1' }, 'web'))).toMatchObject({
      status: 400,
      code: 'request.wrong_protocol',
    })
  })

  it('records the statement with its parameters before the result', async () => {
    const result = await rows({ sql: 'SELECT email FROM customers WHERE id = $1', params: [2] })
    const events = await transcriptOf(result.sessionId)
    expect(events.map((event) => event.type)).toEqual([
      'session.start',
      'command',
      'outcome',
      'session.end',
    ])
    expect(events[1]?.data.command).toMatchObject({
      text: 'SELECT email FROM customers WHERE id = $1',
      params: ['2'],
      via: 'api',
    })
    expect(events[2]?.data).toMatchObject({
      status: 'ok',
      summary: { rows: 1, tags: ['SELECT 1'] },
    })
  })
})

describe('a statement needing approval', () => {
  it('answers 202 with the approval id, and runs the identical statement once approved', async () => {
    const statement = {
      sql: 'UPDATE numbers SET n = n WHERE n = $1',
      params: [2],
    }
    const held = await gatewayFetch(
      '/v1/connections/sqlapi/query',
      asAgent(token, {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'wait=0' },
        body: JSON.stringify(statement),
      })
    )
    expect(held.status).toBe(202)
    const id = held.headers.get('x-gatehouse-approval') ?? ''
    expect(((await held.json()) as { error: { code: string } }).error.code).toBe('approval.pending')
    const retry = (body: unknown) =>
      gatewayFetch(
        '/v1/connections/sqlapi/query',
        asAgent(token, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gatehouse-approval': id },
          body: JSON.stringify(body),
        })
      )
    expect((await decideWith(await personToken('erin', ['dba']), id, 'approve')).status).toBe(200)
    expect(await errorOf(await retry({ ...statement, params: [3] }))).toMatchObject({
      status: 409,
      code: 'approval.mismatch',
    })
    const ran = await retry(statement)
    expect(ran.status, await ran.clone().text()).toBe(200)
    expect(((await ran.json()) as { command: string }).command).toBe('UPDATE 1')
    expect((await errorOf(await retry(statement))).code).toBe('approval.used')
  })
})
