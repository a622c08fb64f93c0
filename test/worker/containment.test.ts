import { env, runInDurableObject } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import type { SessionControl } from '../../src/containment/session-control.do.ts'
import { PG_ROLES } from '../harness/postgres-roles.ts'
import { approvalDetail, pendingApproval, personToken } from './support/approvals.ts'
import {
  admin,
  adminJson,
  applyPolicy,
  asAgent,
  closedSession,
  errorOf,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  type RecordedEvent,
  sessionsOf,
  transcriptOf,
} from './support/gateway.ts'
import { uniqueMarker } from './support/origin.ts'
import { PgTunnel, summarize } from './support/pg-tunnel.ts'

const KILLED = {
  code: '57P01',
  message: 'terminating connection due to administrator command.',
  detail: 'gatehouse: session.killed',
}

let agentToken: string
let agentTokenId: string
let spareToken: string
let erin: string
const open: PgTunnel[] = []

beforeAll(async () => {
  for (const name of ['appdb', 'otherdb']) {
    const response = await admin('PUT', `/connections/${name}`, {
      kind: 'postgres',
      target: { host: '127.0.0.1', port: inject('postgresPort'), database: 'app', tls: 'disable' },
      credential: {
        type: 'password',
        username: PG_ROLES.scram.user,
        password: PG_ROLES.scram.password,
      },
    })
    expect([200, 201]).toContain(response.status)
  }
  await putHttpConnection('held-api', { url: originUrl() })
  const grants = ['agent:contain-bot', 'user:erin']
  await applyPolicy({
    version: 1,
    connections: {
      appdb: {
        grants,
        default: 'allow',
        rules: [
          {
            name: 'customer-writes',
            match: { classes: ['write'], tables: ['customers'] },
            action: 'require_approval',
            approvers: ['idp:dba'],
          },
        ],
      },
      otherdb: { grants, default: 'allow' },
      'held-api': {
        grants,
        default: 'allow',
        rules: [
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            approvers: ['idp:payments-approvers'],
          },
        ],
      },
    },
  })
  ;({ token: agentToken, id: agentTokenId } = await mintToken('contain-bot', ['*']))
  ;({ token: spareToken } = await mintToken('contain-bot', ['*']))
  erin = await personToken('erin', [], 'erin@example.com')
})

afterEach(() => {
  for (const tunnel of open.splice(0)) tunnel.close()
})

async function connect(connection = 'appdb', token = agentToken): Promise<PgTunnel> {
  const tunnel = await PgTunnel.open(connection, token)
  open.push(tunnel)
  return tunnel
}

/** The session id from the notice every tunnel client gets on connect. */
function sessionIdOf(tunnel: PgTunnel): string {
  const notices = summarize(tunnel.greeting).notices.join('\n')
  const id = /recorded as ([0-9a-f-]{36})\./.exec(notices)?.[1]
  if (!id) throw new Error(`no session notice in ${notices}`)
  return id
}

/** Waits until the index lists the session as open (arming the kill switch writes it). */
async function indexedOpen(id: string): Promise<void> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const response = await admin('GET', `/sessions/${id}`)
    const row = response.status === 200 ? ((await response.json()) as { status: string }) : null
    if (!row) await response.body?.cancel()
    if (row?.status === 'open') return
    if (Date.now() > deadline) throw new Error(`session ${id} was never indexed as open`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function kill(id: string, reason = 'contained by the test') {
  return admin('POST', `/sessions/${id}/kill`, { reason })
}

function controlOf(id: string): DurableObjectStub<SessionControl> {
  return env.SESSION_CONTROL.get(env.SESSION_CONTROL.idFromName(id))
}

function sqlQuery(token: string, sql = 'SELECT 1 AS one', connection = 'appdb') {
  return gatewayFetch(
    `/v1/connections/${connection}/query`,
    asAgent(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql }),
    })
  )
}

async function lock(subject: string, reason = 'under investigation') {
  return adminJson<{
    lock: { subject: string }
    created: boolean
    killed: { sessionId: string }[]
  }>('POST', '/locks', { subject, reason }, 201)
}

async function unlock(subject: string): Promise<void> {
  await adminJson('DELETE', '/locks', { subject })
}

/** Waits for the origin to run (or stop running) statements whose text contains `marker`. */
async function originRunning(marker: string, count: number): Promise<void> {
  const probe = await connect('otherdb')
  const deadline = Date.now() + 10_000
  for (;;) {
    const result = await probe.query(
      `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${marker}%' AND pid <> pg_backend_pid()`
    )
    if (result.rows[0]?.[0] === String(count)) return
    if (Date.now() > deadline) throw new Error(`origin never had ${count} × ${marker}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function refusalsIn(events: RecordedEvent[]) {
  return events.filter((event) => event.type === 'access.refused').map((event) => event.data)
}

describe('killing a live session', () => {
  it('ends an open Postgres tunnel with FATAL 57P01 and records who killed it and why', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    expect((await tunnel.query('SELECT 1')).rows).toEqual([['1']])
    await indexedOpen(id)

    const response = await kill(id, 'exfiltration suspected')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      sessionId: id,
      first: true,
      woken: 1,
      kill: { sessionId: id, by: 'admin:bootstrap', reason: 'exfiltration suspected' },
    })
    const rest = summarize(await tunnel.closed())
    expect(rest.errors).toEqual([KILLED])
    expect(rest.messages).toEqual(['ErrorResponse'])

    const row = await closedSession(id)
    expect(row.outcome).toBe('refused')
    const events = await transcriptOf(id)
    expect(refusalsIn(events)).toEqual([
      {
        code: 'session.killed',
        message: KILLED.message,
        detail: 'killed by admin:bootstrap: exfiltration suspected',
        killedBy: 'admin:bootstrap',
        reason: 'exfiltration suspected',
        killedAt: expect.stringMatching(/^\d{4}-/),
      },
    ])
    expect(events.at(-1)).toMatchObject({
      type: 'session.end',
      data: { ended: `${KILLED.message}` },
    })
  })

  it('cancels the statement that was running when the session was killed', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    const marker = `killed_sleep_${crypto.randomUUID().slice(0, 8)}`
    tunnel.sendMessages({ type: 'Query', sql: `SELECT pg_sleep(30) AS ${marker}` })
    await originRunning(marker, 1)

    expect((await kill(id)).status).toBe(200)
    expect(summarize(await tunnel.closed()).errors).toEqual([KILLED])
    await originRunning(marker, 0)
    const events = await transcriptOf(id)
    expect(events.find((event) => event.type === 'outcome')?.data).toMatchObject({
      status: 'error',
    })
  })

  it('ends a statement held for approval, and cancels its approval', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    const marker = uniqueMarker('held-kill')
    tunnel.sendMessages({
      type: 'Query',
      sql: `UPDATE customers SET name = name WHERE id = 1 /* ${marker} */`,
    })
    await tunnel.until('NoticeResponse')
    const approval = await pendingApproval('appdb', marker)

    expect((await kill(id)).status).toBe(200)
    expect(summarize(await tunnel.closed()).errors).toEqual([KILLED])
    const deadline = Date.now() + 5_000
    let detail = await approvalDetail(approval.id)
    while (detail.approval.state === 'pending' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      detail = await approvalDetail(approval.id)
    }
    expect(detail.approval.state).toBe('cancelled')
    const events = await transcriptOf(id)
    expect(refusalsIn(events).map((data) => data.code)).toEqual(['session.killed'])
    expect(events.find((event) => event.type === 'outcome')?.data).toMatchObject({
      status: 'blocked',
      errorCode: 'session.killed',
    })
  })

  it('ends a held HTTP request with 403 session.killed', async () => {
    const marker = uniqueMarker('http-held-kill')
    const held = gatewayFetch(
      `/proxy/held-api/payments/${marker}`,
      asAgent(agentToken, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test-marker': marker },
        body: '{"amount":5}',
      })
    )
    const approval = await pendingApproval('held-api', marker)
    expect((await kill(approval.sessionId)).status).toBe(200)
    expect(await errorOf(await held)).toMatchObject({ status: 403, code: 'session.killed' })
  })

  it('is idempotent: a second kill reports the first, and the object answers its state', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    await indexedOpen(id)
    expect((await kill(id, 'first')).status).toBe(200)
    await tunnel.closed()

    const first = { sessionId: id, by: 'admin:bootstrap', reason: 'first', at: expect.any(Number) }
    expect(
      await controlOf(id).kill({ sessionId: id, by: 'user:someone', reason: 'second' })
    ).toEqual({ kill: first, first: false, woken: 0 })
    expect(await controlOf(id).state()).toEqual({ kill: first, watching: 0 })
    expect(await controlOf(id).watch(60_000)).toEqual(first)
    await closedSession(id)
    expect(await errorOf(await kill(id, 'again'))).toMatchObject({
      status: 409,
      code: 'resource.conflict',
    })
  })

  it('re-arms a watch that failed because the object was reset, and does not end the session', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    await indexedOpen(id)
    await expect(
      runInDurableObject(controlOf(id), (_instance, state) => state.abort('reset by the test'))
    ).rejects.toThrow('reset by the test')
    expect((await tunnel.query('SELECT 2')).rows).toEqual([['2']])
    const deadline = Date.now() + 5_000
    while ((await controlOf(id).state()).watching === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect((await tunnel.query('SELECT 3')).rows).toEqual([['3']])
    expect((await kill(id)).status).toBe(200)
    expect(summarize(await tunnel.closed()).errors).toEqual([KILLED])
  })

  it('refuses unknown and malformed ids (404) and sessions that ended (409)', async () => {
    expect(await errorOf(await kill('0190f5b2-6a1e-7000-8000-000000000000'))).toMatchObject({
      status: 404,
      code: 'resource.not_found',
    })
    expect(await errorOf(await kill('not-a-session'))).toMatchObject({ status: 404 })
    const done = (await (await sqlQuery(agentToken)).json()) as { sessionId: string }
    await closedSession(done.sessionId)
    expect(await errorOf(await kill(done.sessionId))).toMatchObject({
      status: 409,
      code: 'resource.conflict',
    })
    expect(
      await errorOf(await admin('POST', `/sessions/${done.sessionId}/kill`, { why: 'x' }))
    ).toMatchObject({ status: 400, code: 'request.invalid' })
  })
})

describe('locks', () => {
  it('refuses an agent by name, on every connection and protocol, until unlocked', async () => {
    await lock('agent:contain-bot')
    const tunnel = await PgTunnel.open('appdb', agentToken).catch((error: Error) => error)
    expect(tunnel).toBeInstanceOf(Error)
    const response = (tunnel as Error & { response: Response }).response
    expect(await errorOf(response)).toEqual({
      status: 403,
      code: 'access.locked',
      message:
        'This caller is locked by an administrator; its traffic is refused until it is unlocked.',
    })
    expect(await errorOf(await sqlQuery(spareToken, 'SELECT 1', 'otherdb'))).toMatchObject({
      status: 403,
      code: 'access.locked',
    })
    const proxied = await gatewayFetch('/proxy/held-api/anything', asAgent(agentToken))
    expect(await errorOf(proxied)).toMatchObject({ status: 403, code: 'access.locked' })

    await unlock('agent:contain-bot')
    expect((await sqlQuery(agentToken)).status).toBe(200)
  })

  it('records the refusal with the lock in the detail', async () => {
    await lock('agent:contain-bot', 'rotating credentials')
    await (await sqlQuery(agentToken, 'SELECT 41')).body?.cancel()
    await unlock('agent:contain-bot')
    const refused = (await sessionsOf('agent:contain-bot')).find(
      (row) => row.outcome === 'refused' && row.protocol === 'sql-api'
    )
    expect(refused).toBeDefined()
    const [refusal] = refusalsIn(await transcriptOf(refused?.id ?? ''))
    expect(refusal).toMatchObject({
      code: 'access.locked',
      detail: expect.stringMatching(
        /^agent:contain-bot locked by admin:bootstrap at .*: rotating credentials$/
      ),
    })
  })

  it('refuses one agent token and leaves the agent’s other tokens alone', async () => {
    await lock(`token:${agentTokenId}`)
    expect(await errorOf(await sqlQuery(agentToken))).toMatchObject({ code: 'access.locked' })
    expect((await sqlQuery(spareToken)).status).toBe(200)
    await unlock(`token:${agentTokenId}`)
    expect((await sqlQuery(agentToken)).status).toBe(200)
  })

  it('refuses an OIDC user by subject or by e-mail', async () => {
    expect((await sqlQuery(erin)).status).toBe(200)
    for (const subject of ['user:erin', 'user:erin@example.com']) {
      await lock(subject)
      expect(await errorOf(await sqlQuery(erin))).toMatchObject({
        status: 403,
        code: 'access.locked',
      })
      expect((await sqlQuery(agentToken)).status).toBe(200)
      await unlock(subject)
    }
    expect((await sqlQuery(erin)).status).toBe(200)
  })

  it('refuses every caller of a locked connection, and kills its open sessions', async () => {
    const tunnel = await connect('otherdb')
    const id = sessionIdOf(tunnel)
    await indexedOpen(id)
    const other = await connect('appdb')

    const locked = await lock('connection:otherdb')
    expect(locked.killed.map((result) => result.sessionId)).toEqual([id])
    expect(summarize(await tunnel.closed()).errors).toEqual([KILLED])
    expect(await errorOf(await sqlQuery(agentToken, 'SELECT 1', 'otherdb'))).toEqual({
      status: 403,
      code: 'access.locked',
      message:
        'Connection "otherdb" is locked by an administrator; its traffic is refused until it is unlocked.',
    })
    expect(await errorOf(await sqlQuery(erin, 'SELECT 1', 'otherdb'))).toMatchObject({
      code: 'access.locked',
    })
    expect((await other.query('SELECT 4')).rows).toEqual([['4']])

    await unlock('connection:otherdb')
    expect((await sqlQuery(agentToken, 'SELECT 1', 'otherdb')).status).toBe(200)
  })

  it('kills the open sessions of a locked agent', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    await indexedOpen(id)
    const locked = await lock('agent:contain-bot')
    expect(locked.killed.map((result) => result.sessionId)).toContain(id)
    expect(summarize(await tunnel.closed()).errors).toEqual([KILLED])
    await unlock('agent:contain-bot')
    expect((await transcriptOf(id)).some((event) => event.data.code === 'session.killed')).toBe(
      true
    )
  })

  it('leaves alone, in its second sweep, sessions opened after the subject was unlocked', async () => {
    await lock('agent:contain-bot')
    await unlock('agent:contain-bot')
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    await indexedOpen(id)
    // Past the lock's second sweep (LOCK_SWEEP_AGAIN_MS).
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    expect((await tunnel.query('SELECT 5')).rows).toEqual([['5']])
    expect((await controlOf(id).state()).kill).toBeNull()
  })

  it('lists locks, keeps the first lock of a subject, and refuses bad subjects and unknown unlocks', async () => {
    await lock('agent:someone-else', 'first reason')
    const again = await adminJson<{ created: boolean; lock: { reason: string } }>(
      'POST',
      '/locks',
      { subject: 'agent:someone-else', reason: 'second reason' },
      200
    )
    expect(again).toMatchObject({ created: false, lock: { reason: 'first reason' } })
    const { locks } = await adminJson<{ locks: Record<string, unknown>[] }>('GET', '/locks')
    expect(locks).toContainEqual({
      subject: 'agent:someone-else',
      reason: 'first reason',
      lockedBy: 'admin:bootstrap',
      lockedAt: expect.any(Number),
    })
    await unlock('agent:someone-else')

    for (const subject of ['idp:admins', 'agent:', 'token:nope', 'connection:Upper', 'user:a b']) {
      expect(await errorOf(await admin('POST', '/locks', { subject })), subject).toMatchObject({
        status: 400,
        code: 'request.invalid',
      })
    }
    expect(
      await errorOf(await admin('DELETE', '/locks', { subject: 'agent:never-locked' }))
    ).toMatchObject({ status: 404, code: 'resource.not_found' })
  })
})

describe('the audit trail', () => {
  it('records each kill, lock and unlock as an admin action', async () => {
    const tunnel = await connect()
    const id = sessionIdOf(tunnel)
    await indexedOpen(id)
    await kill(id, 'audit me')
    await tunnel.closed()
    await lock('agent:audited', 'audit lock')
    await unlock('agent:audited')

    const deadline = Date.now() + 5_000
    let actions: Record<string, unknown>[] = []
    while (Date.now() < deadline) {
      const rows = (await sessionsOf('admin:bootstrap')).filter(
        (row) => row.connectionName === 'admin'
      )
      actions = []
      for (const row of rows) {
        for (const event of await transcriptOf(row.id)) {
          if (event.type === 'admin.action') actions.push(event.data)
        }
      }
      if (
        actions.some(
          (action) => action.action === 'lock.delete' && action.subject === 'agent:audited'
        )
      )
        break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(actions).toContainEqual({
      action: 'session.kill',
      sessionId: id,
      reason: 'audit me',
      first: true,
      woken: 1,
    })
    expect(actions).toContainEqual({
      action: 'lock.create',
      subject: 'agent:audited',
      reason: 'audit lock',
      created: true,
      killed: [],
    })
    expect(actions).toContainEqual({
      action: 'lock.delete',
      subject: 'agent:audited',
      reason: 'audit lock',
      lockedBy: 'admin:bootstrap',
      lockedAt: expect.any(Number),
    })
  })
})
