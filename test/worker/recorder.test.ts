import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import worker from '../../src/index.ts'
import {
  admin,
  adminJson,
  applyPolicy,
  asAgent,
  closedSession,
  errorOf,
  GATEWAY,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'
import { arrivalsWith, releaseHold, uniqueMarker } from './support/origin.ts'

const ORIGIN_SECRET = 'origin-bearer-that-must-never-be-recorded'
let token: string

beforeAll(async () => {
  await putHttpConnection('ledger', { url: originUrl() }, { type: 'bearer', token: ORIGIN_SECRET })
  await applyPolicy({
    version: 1,
    connections: {
      ledger: {
        grants: ['agent:ledger-bot'],
        rules: [
          { name: 'no-deletes', match: { methods: ['DELETE'] }, action: 'block' },
          { name: 'rest', action: 'allow' },
        ],
      },
    },
  })
  ;({ token } = await mintToken('ledger-bot', ['ledger']))
})

/** Every object under sessions/ whose text mentions `needle`. */
async function transcriptObjectsMentioning(needle: string) {
  const found: { key: string; uploaded: Date; text: string }[] = []
  let cursor: string | undefined
  do {
    const page = await env.SESSIONS.list({ prefix: 'sessions/', ...(cursor ? { cursor } : {}) })
    for (const object of page.objects) {
      const body = await env.SESSIONS.get(object.key)
      const text = (await body?.text()) ?? ''
      if (text.includes(needle)) found.push({ key: object.key, uploaded: object.uploaded, text })
    }
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return found
}

/** The real Worker with an R2 binding whose writes fail after `okPuts` successful ones. */
async function fetchWithFailingR2(request: Request, okPuts: number) {
  let puts = 0
  const failing = new Proxy(env.SESSIONS, {
    get(target, property) {
      if (property === 'put') {
        return (...args: Parameters<R2Bucket['put']>) => {
          puts++
          if (puts > okPuts) return Promise.reject(new Error('R2 is down (injected)'))
          return target.put(...args)
        }
      }
      const value = Reflect.get(target, property)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const ctx = createExecutionContext()
  const response = await worker.fetch(request, { ...env, SESSIONS: failing }, ctx)
  return { response, settle: () => waitOnExecutionContext(ctx) }
}

describe('write-ahead', () => {
  it('has the command durable in R2 and indexed in D1 while the origin is still receiving it', async () => {
    const marker = uniqueMarker('write-ahead')
    const pending = gatewayFetch(
      '/proxy/ledger/entries',
      asAgent(token, {
        method: 'POST',
        body: '{"amount":5}',
        headers: { 'x-test-marker': marker, 'x-test-hold': marker },
      })
    )
    // Wait for the request to arrive at the origin, which holds it open.
    await expect.poll(async () => (await arrivalsWith(marker)).length, { timeout: 5_000 }).toBe(1)
    const [arrival] = await arrivalsWith(marker)
    const sessionId = String(arrival?.headers['x-gatehouse-session'])

    const objects = await transcriptObjectsMentioning(marker)
    expect(objects).toHaveLength(1)
    const written = objects[0]
    expect(written?.key).toMatch(
      new RegExp(`^sessions/\\d{4}/\\d{2}/\\d{2}/${sessionId}/000000\\.ndjson$`)
    )
    expect(written?.uploaded.getTime()).toBeLessThanOrEqual(arrival?.at ?? 0)
    const lines = (written?.text ?? '')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines.map((event) => event.type)).toEqual(['session.start', 'command'])
    expect(lines[1].data.command).toMatchObject({
      method: 'POST',
      path: '/entries',
      body: { text: '{"amount":5}' },
    })

    // The row follows the chunk off the forward's path; it is there while the origin holds on.
    await expect
      .poll(async () => (await admin('GET', `/sessions/${sessionId}`)).status, { timeout: 5_000 })
      .toBe(200)
    const indexed = await adminJson<{ status: string; commands: number }>(
      'GET',
      `/sessions/${sessionId}`
    )
    expect(indexed).toMatchObject({ status: 'open', commands: 1 })

    await releaseHold(marker)
    const response = await pending
    expect(response.status).toBe(200)
    const closed = await closedSession(sessionId)
    expect(closed).toMatchObject({ status: 'closed', allowed: 1, outcome: 'ok' })
  })

  it('refuses with 503 recorder.unavailable and forwards nothing when R2 cannot be written', async () => {
    const marker = uniqueMarker('r2-down')
    const { response, settle } = await fetchWithFailingR2(
      new Request(
        `${GATEWAY}/proxy/ledger/entries`,
        asAgent(token, { method: 'POST', body: '{}', headers: { 'x-test-marker': marker } })
      ),
      0
    )
    expect(await errorOf(response)).toEqual({
      status: 503,
      code: 'recorder.unavailable',
      message:
        'The session recorder is unavailable, so the command was not forwarded. Try again shortly.',
    })
    await settle()
    expect(await arrivalsWith(marker)).toEqual([])
    // The index row follows a durable chunk only: a session R2 never held is not listed.
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    expect(sessionId).not.toBe('')
    const missing = await adminJson<{ error: { code: string } }>(
      'GET',
      `/sessions/${sessionId}`,
      undefined,
      404
    )
    expect(missing.error.code).toBe('resource.not_found')
  })

  it('still answers a forwarded command when only the outcome write fails, and leaves the session open', async () => {
    const marker = uniqueMarker('outcome-lost')
    const { response, settle } = await fetchWithFailingR2(
      new Request(
        `${GATEWAY}/proxy/ledger/entries`,
        asAgent(token, { headers: { 'x-test-marker': marker } })
      ),
      1
    )
    expect(response.status).toBe(200)
    await response.arrayBuffer()
    await settle()
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    const row = await adminJson<{ status: string; chunks: number }>('GET', `/sessions/${sessionId}`)
    // The write-ahead chunk is there; the session is never marked closed, so it reads as cut short.
    expect(row).toMatchObject({ status: 'open', chunks: 1 })
    expect(await arrivalsWith(marker)).toHaveLength(1)
  })
})

describe('transcripts', () => {
  it('records command, decision and outcome for an allowed request, in a chain that verifies', async () => {
    const response = await gatewayFetch('/proxy/ledger/balance?currency=EUR', asAgent(token))
    expect(response.status).toBe(200)
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    const events = await transcriptOf(sessionId)
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      [0, 'session.start'],
      [1, 'command'],
      [2, 'outcome'],
      [3, 'session.end'],
    ])
    expect(events[0]?.prev).toBeNull()
    expect(events[0]?.data).toMatchObject({
      protocol: 'http',
      connection: 'ledger',
      caller: { id: 'agent:ledger-bot', via: 'agent_token' },
    })
    expect(events[1]?.data).toMatchObject({
      command: {
        kind: 'http',
        method: 'GET',
        path: '/balance',
        query: 'currency=EUR',
        headers: { authorization: '[redacted]' },
      },
      decision: { action: 'allow', rule: { index: 1, name: 'rest' } },
    })
    expect(events[2]?.data).toMatchObject({ command: 1, status: 'ok', summary: { status: 200 } })
    const verdict = await adminJson<{
      chain: { intact: boolean; events: number }
      matchesIndex: boolean
    }>('GET', `/sessions/${sessionId}/verify`)
    expect(verdict).toMatchObject({ chain: { intact: true, events: 4 }, matchesIndex: true })
  })

  it('records a blocked command with its rule, and counts it in the index', async () => {
    const response = await gatewayFetch(
      '/proxy/ledger/entries/1',
      asAgent(token, { method: 'DELETE' })
    )
    expect(response.status).toBe(403)
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    const events = await transcriptOf(sessionId)
    expect(events[1]?.data.decision).toMatchObject({
      action: 'block',
      rule: { name: 'no-deletes' },
    })
    expect(events[2]?.data).toMatchObject({ status: 'blocked', errorCode: 'policy.blocked' })
    expect(await closedSession(sessionId)).toMatchObject({
      commands: 1,
      blocked: 1,
      allowed: 0,
      outcome: 'blocked',
    })
  })

  it('never stores the connection credential or the agent token', async () => {
    const response = await gatewayFetch(
      '/proxy/ledger/entries',
      asAgent(token, {
        method: 'POST',
        body: 'hello',
        headers: { cookie: 'sid=abc', 'x-api-key': 'caller-key' },
      })
    )
    await closedSession(response.headers.get('x-gatehouse-session') ?? '')
    expect(await transcriptObjectsMentioning(ORIGIN_SECRET)).toEqual([])
    expect(await transcriptObjectsMentioning(token.slice(4))).toEqual([])
    expect(await transcriptObjectsMentioning('caller-key')).toEqual([])
    expect(await transcriptObjectsMentioning('sid=abc')).toEqual([])
  })

  it('lists sessions newest first with filters and a cursor', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await gatewayFetch(`/proxy/ledger/page/${i}`, asAgent(token))
      await closedSession(response.headers.get('x-gatehouse-session') ?? '')
    }
    const first = await adminJson<{
      sessions: { id: string; startedAt: number }[]
      next: string | null
    }>('GET', '/sessions?caller=agent:ledger-bot&connection=ledger&limit=2')
    expect(first.sessions).toHaveLength(2)
    expect(first.next).not.toBeNull()
    const second = await adminJson<{ sessions: { id: string; startedAt: number }[] }>(
      'GET',
      `/sessions?caller=agent:ledger-bot&connection=ledger&limit=2&cursor=${first.next}`
    )
    const ids = [...first.sessions, ...second.sessions].map((session) => session.id)
    expect(new Set(ids).size).toBe(ids.length)
    const starts = [...first.sessions, ...second.sessions].map((session) => session.startedAt)
    expect(starts).toEqual([...starts].sort((a, b) => b - a))
    const blocked = await adminJson<{ sessions: { outcome: string }[] }>(
      'GET',
      '/sessions?outcome=blocked'
    )
    expect(blocked.sessions.every((session) => session.outcome === 'blocked')).toBe(true)
  })

  it('rejects a malformed session query with 400', async () => {
    const response = await gatewayFetch('/v1/admin/sessions?limit=9999', {
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` },
    })
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'request.invalid' })
  })
})
