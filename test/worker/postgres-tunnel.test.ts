import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PG_ROLES } from '../harness/postgres-roles.ts'
import { approvalDetail, decideWith, pendingApproval, personToken } from './support/approvals.ts'
import { admin, applyPolicy, closedSession, mintToken, transcriptOf } from './support/gateway.ts'
import { PgTunnel, summarize } from './support/pg-tunnel.ts'
import { putPostgresConnection } from './support/postgres-connections.ts'

let token: string
const open: PgTunnel[] = []

async function connect(connection = 'appdb', tokenOverride?: string) {
  const tunnel = await PgTunnel.open(connection, tokenOverride ?? token)
  open.push(tunnel)
  return tunnel
}

async function putPostgres(
  name: string,
  role: { user: string; password: string },
  extra: Record<string, unknown> = {}
) {
  const response = await putPostgresConnection(name, { role, target: extra })
  expect([200, 201]).toContain(response.status)
}

beforeAll(async () => {
  await putPostgres('appdb', PG_ROLES.scram)
  await putPostgres('md5db', PG_ROLES.md5)
  await putPostgres('plaindb', PG_ROLES.cleartext)
  await putPostgres('wrongpw', { user: PG_ROLES.scram.user, password: 'not-the-password' })
  await putPostgres('admindb', PG_ROLES.scram)
  await putPostgres('idledb', PG_ROLES.scram, { idleTimeoutMs: 1000 })
  await putPostgres('shortdb', PG_ROLES.scram, { maxSessionMs: 1500 })
  await putPostgres('tlsdb', PG_ROLES.scram, { tls: 'verify-full' })
  const rules = [
    {
      name: 'no-secrets',
      match: { tables: ['secrets'] },
      action: 'block' as const,
      reason: 'Secrets are off limits.',
    },
    { name: 'no-ddl', match: { classes: ['ddl' as const] }, action: 'block' as const },
    {
      name: 'customer-writes',
      match: { classes: ['write' as const], tables: ['customers'] },
      action: 'require_approval' as const,
      approvers: ['idp:dba'],
    },
    {
      name: 'reads-and-writes',
      match: {
        classes: ['read' as const, 'write' as const, 'transaction' as const, 'session' as const],
      },
      action: 'allow' as const,
    },
  ]
  const grant = { grants: ['agent:sql-bot'], rules }
  await applyPolicy({
    version: 1,
    connections: {
      appdb: grant,
      md5db: grant,
      plaindb: grant,
      wrongpw: grant,
      admindb: { grants: ['agent:sql-bot'], default: 'allow' },
      idledb: grant,
      shortdb: grant,
      tlsdb: grant,
    },
  })
  ;({ token } = await mintToken('sql-bot', ['*']))
})

afterEach(() => {
  for (const tunnel of open.splice(0)) tunnel.close()
})

describe('login', () => {
  it('logs in to the origin with SCRAM and greets the client with the session id', async () => {
    const tunnel = await connect()
    const types = tunnel.greeting.map((message) => message.type)
    expect(types[0]).toBe('AuthenticationOk')
    expect(types).toContain('BackendKeyData')
    expect(types.at(-1)).toBe('ReadyForQuery')
    const result = await tunnel.query('SELECT current_user, current_database()')
    expect(result.rows).toEqual([[PG_ROLES.scram.user, 'app']])
  })

  it.each([
    ['md5', 'md5db', PG_ROLES.md5.user],
    ['cleartext', 'plaindb', PG_ROLES.cleartext.user],
  ])('logs in with %s passwords', async (_method, connection, user) => {
    const tunnel = await connect(connection)
    expect((await tunnel.query('SELECT current_user')).rows).toEqual([[user]])
  })

  it('ends the tunnel with a FATAL error when the origin refuses the stored credential', async () => {
    const tunnel = await PgTunnel.open('wrongpw', token).catch((error: Error) => error)
    expect(tunnel).toBeInstanceOf(Error)
    expect((tunnel as Error).message).toContain('tunnel closed before ReadyForQuery')
  })
})

describe('statements', () => {
  it('runs an allowed query and records it before and after', async () => {
    const tunnel = await connect()
    const result = await tunnel.query('SELECT id, email FROM customers ORDER BY id')
    expect(result).toMatchObject({
      columns: ['id', 'email'],
      rows: [
        ['1', 'ada@example.com'],
        ['2', 'grace@example.com'],
        ['3', 'alan@example.com'],
      ],
      tags: ['SELECT 3'],
      errors: [],
      status: 'I',
    })
  })

  it('blocks a statement with 42501 and the rule reason, and keeps the session usable', async () => {
    const tunnel = await connect()
    const blocked = await tunnel.query('SELECT value FROM secrets')
    expect(blocked.errors).toEqual([
      { code: '42501', message: 'Secrets are off limits.', detail: 'gatehouse: policy.blocked' },
    ])
    expect(blocked.messages).toEqual(['ErrorResponse', 'ReadyForQuery'])
    expect((await tunnel.query('SELECT count(*) FROM orders')).rows).toEqual([['3']])
  })

  it('forwards nothing of a multi-statement query when one statement is blocked', async () => {
    const tunnel = await connect()
    const result = await tunnel.query(
      'INSERT INTO orders (customer_id, total) VALUES (1, 99); DROP TABLE orders'
    )
    expect(result.errors[0]?.code).toBe('42501')
    expect((await tunnel.query('SELECT count(*) FROM orders WHERE total = 99')).rows).toEqual([
      ['0'],
    ])
  })

  describe('a statement needing approval', () => {
    /** Sends the statement and reads up to the NoticeResponse with the approval link. */
    async function holdUpdate(tunnel: PgTunnel, marker: string) {
      tunnel.sendMessages({
        type: 'Query',
        sql: `UPDATE customers SET name = name WHERE id = 1 /* ${marker} */`,
      })
      const notice = summarize(await tunnel.until('NoticeResponse')).notices[0] ?? ''
      const row = await pendingApproval('appdb', marker)
      expect(notice).toBe(`Waiting for approval: https://gatehouse.test/approvals/${row.id}`)
      return row
    }

    it('is held in place with a notice carrying the link, and runs once approved', async () => {
      const tunnel = await connect()
      const row = await holdUpdate(tunnel, 'pg-approve')
      const approver = await personToken('dana', ['dba'])
      expect((await decideWith(approver, row.id, 'approve')).status).toBe(200)
      const result = summarize(await tunnel.until('ReadyForQuery'))
      expect(result).toMatchObject({ tags: ['UPDATE 1'], errors: [], status: 'I' })
    })

    it('fails with an ErrorResponse when denied, and the session stays usable', async () => {
      const tunnel = await connect()
      const row = await holdUpdate(tunnel, 'pg-deny')
      const approver = await personToken('dana', ['dba'])
      expect((await decideWith(approver, row.id, 'deny', 'use a migration')).status).toBe(200)
      const result = summarize(await tunnel.until('ReadyForQuery'))
      expect(result.errors).toEqual([
        {
          code: '42501',
          message: 'Denied by dana: use a migration',
          detail: 'gatehouse: approval.denied',
        },
      ])
      expect((await tunnel.query('SELECT name FROM customers WHERE id = 1')).rows).toEqual([
        ['Ada Lovelace'],
      ])
    })

    it('is cancelled when the client hangs up while it waits', async () => {
      const tunnel = await connect()
      const row = await holdUpdate(tunnel, 'pg-hangup')
      tunnel.socket.close(1000)
      const deadline = Date.now() + 5_000
      let detail = await approvalDetail(row.id)
      while (detail.approval.state === 'pending' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        detail = await approvalDetail(row.id)
      }
      expect(detail.approval.state).toBe('cancelled')
      expect(detail.events.at(-1)?.data).toEqual({
        state: 'cancelled',
        reason: 'the client hung up',
      })
    })
  })

  it('runs the extended protocol with parameters', async () => {
    const tunnel = await connect()
    const result = await tunnel.extended('SELECT email FROM customers WHERE id = $1 OR name = $2', [
      '2',
      'Alan Turing',
    ])
    expect(result.rows).toEqual([['grace@example.com'], ['alan@example.com']])
    expect(result.messages).toEqual([
      'ParseComplete',
      'BindComplete',
      'RowDescription',
      'DataRow',
      'DataRow',
      'CommandComplete',
      'ReadyForQuery',
    ])
  })

  it('blocks in the extended protocol at Parse, answering as Postgres does, then recovers', async () => {
    const tunnel = await connect()
    const blocked = await tunnel.extended('SELECT value FROM secrets WHERE id = $1', ['1'])
    expect(blocked.messages).toEqual(['ErrorResponse', 'ReadyForQuery'])
    expect(blocked.errors[0]?.code).toBe('42501')
    expect((await tunnel.extended('SELECT $1::int + 1', ['41'])).rows).toEqual([['42']])
  })

  it('passes an origin error through unchanged', async () => {
    const tunnel = await connect()
    const result = await tunnel.query('SELECT * FROM no_such_table')
    expect(result.errors[0]).toMatchObject({ code: '42P01' })
    expect(result.status).toBe('I')
  })

  it('aborts the transaction on a refusal inside it, as a real error would', async () => {
    const tunnel = await connect()
    expect((await tunnel.query('BEGIN')).status).toBe('T')
    await tunnel.query('INSERT INTO orders (customer_id, total) VALUES (2, 55.55)')
    const blocked = await tunnel.query('SELECT * FROM secrets')
    expect(blocked.errors).toEqual([
      { code: '42501', message: 'Secrets are off limits.', detail: 'gatehouse: policy.blocked' },
    ])
    expect(blocked.status).toBe('E')
    const next = await tunnel.query('SELECT 1')
    expect(next.errors[0]?.code).toBe('25P02')
    expect((await tunnel.query('COMMIT')).tags).toEqual(['ROLLBACK'])
    expect((await tunnel.query('SELECT count(*) FROM orders WHERE total = 55.55')).rows).toEqual([
      ['0'],
    ])
  })

  it('refuses outside a transaction without touching the origin', async () => {
    const tunnel = await connect()
    const blocked = await tunnel.query('SELECT * FROM secrets')
    expect(blocked).toMatchObject({ messages: ['ErrorResponse', 'ReadyForQuery'], status: 'I' })
  })

  it('classifies UPDATE pg_settings as admin, closing the standard-strings bypass', async () => {
    const tunnel = await connect()
    const attempt = await tunnel.query(
      "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'"
    )
    expect(attempt.errors[0]).toMatchObject({ code: '42501', detail: 'gatehouse: policy.blocked' })
    expect((await tunnel.query('SHOW standard_conforming_strings')).rows).toEqual([['on']])
  })

  it('ends the session when the origin reports a setting that changes how SQL is read', async () => {
    const tunnel = await connect('admindb')
    tunnel.sendMessages({ type: 'Query', sql: 'SET standard_conforming_strings = off' })
    const rest = await tunnel.closed()
    expect(rest.find((message) => message.type === 'ErrorResponse')).toMatchObject({
      fields: { severity: 'FATAL', detail: 'gatehouse: policy.unsafe_session' },
    })
  })

  it('cancels the origin statement when the client hangs up in the middle of it', async () => {
    const sleeper = await connect()
    sleeper.sendMessages({ type: 'Query', sql: 'SELECT pg_sleep(30) /* abandoned */' })
    const watcher = await connect()
    const running =
      "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30) /* abandoned */%' AND state = 'active' AND pid <> pg_backend_pid()"
    await expect
      .poll(async () => (await watcher.query(running)).rows, { timeout: 5_000 })
      .toEqual([['1']])
    sleeper.socket.close(1000)
    await expect
      .poll(async () => (await watcher.query(running)).rows, { timeout: 5_000 })
      .toEqual([['0']])
  })

  it('records each statement with its classification and result', async () => {
    const tunnel = await connect()
    await tunnel.query('SELECT count(*) FROM customers')
    await tunnel.query('SELECT * FROM secrets')
    tunnel.close()
    const sessions = (await admin('GET', '/sessions?protocol=postgres&limit=1').then((r) =>
      r.json()
    )) as {
      sessions: { id: string }[]
    }
    const id = sessions.sessions[0]?.id ?? ''
    const events = await transcriptOf(id)
    const commands = events.filter((event) => event.type === 'command')
    expect(commands.map((event) => (event.data.command as { text: string }).text)).toEqual([
      'SELECT count(*) FROM customers',
      'SELECT * FROM secrets',
    ])
    expect(commands[0]?.data.command).toMatchObject({
      statements: [{ class: 'read', tables: ['customers'] }],
    })
    const outcomes = events.filter((event) => event.type === 'outcome')
    expect(outcomes[0]?.data).toMatchObject({
      status: 'ok',
      summary: { tags: ['SELECT 1'], rows: 1, columns: ['count'] },
    })
    expect(outcomes[1]?.data).toMatchObject({ status: 'blocked', errorCode: 'policy.blocked' })
    const row = await closedSession(id)
    expect(row).toMatchObject({ commands: 2, allowed: 1, blocked: 1 })
    expect(row.bytesUp).toBeGreaterThan(0)
    expect(row.bytesDown).toBeGreaterThan(0)
  })
})

describe('limits and transport', () => {
  it('ends a session idle past the connection limit with FATAL 57P05', async () => {
    const tunnel = await connect('idledb')
    const rest = await tunnel.closed()
    expect(rest.find((message) => message.type === 'ErrorResponse')).toMatchObject({
      fields: { severity: 'FATAL', code: '57P05', detail: 'gatehouse: session.idle_timeout' },
    })
  })

  it('does not count a long-running statement as idle', async () => {
    const tunnel = await connect('idledb')
    expect((await tunnel.query('SELECT pg_sleep(1.5), 1 AS done')).rows).toEqual([['', '1']])
  })

  it('ends a session past its maximum duration with FATAL 57P01, even mid-statement', async () => {
    const tunnel = await connect('shortdb')
    tunnel.sendMessages({ type: 'Query', sql: 'SELECT pg_sleep(10)' })
    const rest = await tunnel.closed()
    expect(rest.find((message) => message.type === 'ErrorResponse')).toMatchObject({
      fields: { severity: 'FATAL', code: '57P01', detail: 'gatehouse: session.too_long' },
    })
    // …and the statement it was running does not outlive it.
    const watcher = await connect()
    const running =
      "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)' AND state = 'active'"
    await expect
      .poll(async () => (await watcher.query(running)).rows, { timeout: 5_000 })
      .toEqual([['0']])
  })

  it('refuses to talk to an origin without TLS when the connection requires it', async () => {
    const refused = await PgTunnel.open('tlsdb', token).catch((error: Error) => error)
    expect(refused).toBeInstanceOf(Error)
    expect((refused as Error).message).toBe('tunnel closed before ReadyForQuery; saw ErrorResponse')
  })
})
