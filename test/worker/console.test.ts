/**
 * The responder console through the Worker's fetch handler, signed in at the real test
 * IdP: who may use it, the session list's filters and paging over the D1 index, the
 * session page over real transcripts (HTTP, Postgres, masked, held for approval,
 * tampered, hostile), and the two containment actions with their CSRF checks.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { CONSOLE_CSS } from '../../src/console/pages/layout.tsx'
import { hashLine } from '../../src/recorder/hash-chain.ts'
import { transcriptPrefix } from '../../src/recorder/transcript-keys.ts'
import { PG_ROLES } from '../harness/postgres-roles.ts'
import { decideWith, pendingApproval, personToken } from './support/approvals.ts'
import { csrfOf, pageCode, postForm, signIn } from './support/approver-session.ts'
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
  sessionsOf,
  transcriptOf,
} from './support/gateway.ts'
import { PgTunnel, summarize } from './support/pg-tunnel.ts'
import { putSshConnection, sshd } from './support/ssh.ts'

const AGENT = 'agent:console-bot'
const PAGER = 'agent:console-pager'
const SECRET_CREDENTIAL = 'bearer-secret-never-on-a-page-0123456789'
const HOSTILE_PATH = '/echo/%3Cscript%3Ealert(1)%3C/script%3E'
const HOSTILE_HEADER = '"><img src=x onerror=alert(1)>'

let agentToken: string
let dana: string
let erin: string
let bob: string
let testStart: number

beforeAll(async () => {
  testStart = Date.now() - 1_000
  await putHttpConnection(
    'console-api',
    { url: originUrl() },
    { type: 'bearer', token: SECRET_CREDENTIAL }
  )
  await putHttpConnection('console-crm', { url: originUrl() })
  await putHttpConnection('console-dead', { url: `http://127.0.0.1:${inject('deadPort')}` })
  const pg = await admin('PUT', '/connections/console-pg', {
    kind: 'postgres',
    target: { host: '127.0.0.1', port: inject('postgresPort'), database: 'app', tls: 'disable' },
    credential: {
      type: 'password',
      username: PG_ROLES.scram.user,
      password: PG_ROLES.scram.password,
    },
  })
  expect([200, 201]).toContain(pg.status)
  await applyPolicy({
    version: 1,
    connections: {
      'console-api': {
        grants: [AGENT],
        default: 'allow',
        approval: { approvers: ['idp:payments-approvers'] },
        rules: [
          {
            name: 'no-deletes',
            match: { methods: ['DELETE'] },
            action: 'block',
            reason: 'Agents never delete.',
          },
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            reason: 'Moving money needs a human.',
          },
        ],
      },
      'console-crm': {
        grants: [AGENT],
        default: 'allow',
        masking: { paths: { '$.customers[*].email': 'token' }, detectors: { all: 'redact' } },
      },
      'console-dead': { grants: [AGENT], default: 'allow' },
      'console-pg': {
        grants: [AGENT],
        default: 'allow',
        masking: { columns: { 'public.customers.email': 'token' }, detectors: { all: 'redact' } },
      },
    },
  })
  ;({ token: agentToken } = await mintToken('console-bot', ['*']))
  const cookieOf = async (person: 'dana' | 'erin' | 'bob') =>
    (await signIn(person, '/ui/sessions')).cookie
  dana = await cookieOf('dana')
  erin = await cookieOf('erin')
  bob = await cookieOf('bob')
})

function page(path: string, cookie?: string): Promise<Response> {
  return gatewayFetch(path, { redirect: 'manual', headers: cookie ? { cookie } : {} })
}

async function html(path: string, cookie = dana, status = 200): Promise<string> {
  const response = await page(path, cookie)
  const text = await response.text()
  expect(response.status, text).toBe(status)
  return text
}

/** The session ids a list page links to, in order. */
function listedIds(text: string): string[] {
  return [...text.matchAll(/href="\/ui\/sessions\/([0-9a-f-]{36})"/g)].map(
    (match) => match[1] ?? ''
  )
}

function agentCall(path: string, init: RequestInit = {}): Promise<Response> {
  return gatewayFetch(`/proxy/${path}`, asAgent(agentToken, init))
}

/** Makes one request; returns its session id once the index says it closed, and the answer. */
async function recordedCall(
  path: string,
  init: RequestInit = {}
): Promise<{ id: string; response: Response }> {
  const before = new Set((await sessionsOf(AGENT)).map((row) => row.id))
  const response = await agentCall(path, init)
  await response.clone().body?.cancel()
  const deadline = Date.now() + 5_000
  for (;;) {
    const added = (await sessionsOf(AGENT)).find((row) => !before.has(row.id))
    if (added) return { id: (await closedSession(added.id)).id, response }
    if (Date.now() > deadline) throw new Error(`no session recorded for ${path}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The session id of one recorded request. */
async function recordedId(path: string, init: RequestInit = {}): Promise<string> {
  const { id, response } = await recordedCall(path, init)
  await response.body?.cancel()
  return id
}

/** Writes a transcript and its index row by hand, as if the recorder had: for tampering. */
async function plantSession(options: {
  id: string
  callerId: string
  startedAt: number
  lines?: (prev: string | null, seq: number) => string
  events?: number
  status?: 'open' | 'closed'
  outcome?: string
}): Promise<void> {
  const prefix = transcriptPrefix(options.id, options.startedAt)
  let prev: string | null = null
  const lines: string[] = []
  for (let seq = 0; seq < (options.events ?? 0); seq++) {
    const line = options.lines?.(prev, seq) ?? ''
    lines.push(line)
    prev = await hashLine(line)
  }
  if (lines.length) await env.SESSIONS.put(`${prefix}000000.ndjson`, `${lines.join('\n')}\n`)
  await env.DB.prepare(
    `INSERT INTO sessions (id, protocol, connection_name, caller_id, caller_name, caller_via,
       started_at, ended_at, status, outcome, transcript_prefix, chunks, last_hash, events)
     VALUES (?, 'http', 'planted', ?, ?, 'agent_token', ?, ?, ?, ?, ?, ?, ?, ?)`
  )
    .bind(
      options.id,
      options.callerId,
      options.callerId.slice(options.callerId.indexOf(':') + 1),
      options.startedAt,
      options.status === 'open' ? null : options.startedAt + 5,
      options.status ?? 'closed',
      options.outcome ?? 'ok',
      prefix,
      lines.length ? 1 : 0,
      prev,
      lines.length
    )
    .run()
}

/** A UUIDv7-shaped session id whose time part is `at`. */
function plantedId(at: number, tail: number): string {
  const time = at.toString(16).padStart(12, '0')
  const random = tail.toString(16).padStart(12, '0')
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-${random}`
}

function eventLine(sid: string, seq: number, prev: string | null, type: string, data: object) {
  return JSON.stringify({
    v: 1,
    sid,
    seq,
    at: new Date(1_700_000_000_000 + seq).toISOString(),
    type,
    prev,
    data,
  })
}

describe('who may use the console', () => {
  it('sends a visitor without a session to sign in, and back to the page with its filters', async () => {
    const response = await page('/ui/sessions?outcome=blocked&caller=agent%3Aconsole-bot')
    expect(response.status).toBe(303)
    const location = response.headers.get('location') ?? ''
    expect(location).toBe(
      `/auth/login?return=${encodeURIComponent('/ui/sessions?outcome=blocked&caller=agent%3Aconsole-bot')}`
    )
    const login = await page(location)
    expect(login.status).toBe(302)
    expect(login.headers.get('location')).toMatch(new RegExp(`^${inject('oidcIssuer')}/auth\\?`))
    const { response: back } = await signIn('dana', '/ui/sessions?outcome=blocked')
    expect(back.headers.get('location')).toBe('/ui/sessions?outcome=blocked')
  })

  it('still refuses sign-in return paths outside the approval pages and the console', async () => {
    for (const target of [
      '/ui/../v1/admin',
      '/ui//evil.example',
      '/uix',
      '/ui?next=//evil.example/#x',
      '/ui\\evil',
    ]) {
      const response = await page(`/auth/login?return=${encodeURIComponent(target)}`)
      const text = await response.text()
      expect([response.status, pageCode(text)], target).toEqual([400, 'request.invalid'])
    }
  })

  it('refuses a signed-in person outside CONSOLE_GROUPS and ADMIN_GROUPS with 403', async () => {
    for (const path of ['/ui/sessions', '/ui/tokens', '/ui/policy']) {
      const text = await html(path, bob, 403)
      expect(text).toContain('Not a console user')
      expect(pageCode(text)).toBe('access.denied')
      expect(text).not.toContain('console-bot')
    }
  })

  it('lets responders and admins in, saying which they are', async () => {
    expect(await html('/ui/sessions', dana)).toContain('dana@example.com (responder)')
    expect(await html('/ui/sessions', erin)).toContain('erin@example.com (admin)')
    const home = await page('/ui', dana)
    expect([home.status, home.headers.get('location')]).toEqual([303, '/ui/sessions'])
  })

  it('serves pages without script, framing or caching; the stylesheet is allowed by its hash', async () => {
    const response = await page('/ui/sessions', dana)
    const csp = response.headers.get('content-security-policy') ?? ''
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(CONSOLE_CSS))
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)))
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain(`'sha256-${hash}'`)
    expect(csp).not.toContain('script-src')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('cache-control')).toBe('no-store')
    const text = await response.text()
    expect(text).not.toMatch(/<script/i)
  })
})

describe('the session list', () => {
  let allowed: string
  let blocked: string
  let masked: string
  let failed: string
  let held: string
  let approved: string

  beforeAll(async () => {
    allowed = await recordedId('console-api/orders/1')
    blocked = await recordedId('console-api/orders/1', { method: 'DELETE' })
    masked = await recordedId('console-crm/customers')
    failed = await recordedId('console-dead/anything')
    // Held (the caller is told 202 at once: not let through, so "blocked"), approved by an
    // approver, then let through on the retry that names the approval.
    const first = await recordedCall('console-api/payments/console-1', {
      method: 'POST',
      headers: { prefer: 'wait=0', 'content-type': 'application/json' },
      body: '{"amount":1}',
    })
    held = first.id
    expect(first.response.status).toBe(202)
    const approvalId = first.response.headers.get('x-gatehouse-approval') ?? ''
    await first.response.body?.cancel()
    const alice = await personToken('alice', ['payments-approvers'])
    expect((await decideWith(alice, approvalId, 'approve')).status).toBe(200)
    approved = await recordedId('console-api/payments/console-1', {
      method: 'POST',
      headers: { 'x-gatehouse-approval': approvalId, 'content-type': 'application/json' },
      body: '{"amount":1}',
    })
  })

  it('lists sessions newest first with their counts', async () => {
    const text = await html(`/ui/sessions?caller=${encodeURIComponent(AGENT)}`)
    const ids = listedIds(text)
    expect(ids.indexOf(approved)).toBeLessThan(ids.indexOf(held))
    expect(ids.indexOf(held)).toBeLessThan(ids.indexOf(failed))
    expect(ids.indexOf(failed)).toBeLessThan(ids.indexOf(masked))
    expect(ids.indexOf(masked)).toBeLessThan(ids.indexOf(blocked))
    expect(ids.indexOf(blocked)).toBeLessThan(ids.indexOf(allowed))
    expect(ids.indexOf(allowed)).toBeGreaterThanOrEqual(0)
  })

  it('counts masked outcomes and approved commands in the index', async () => {
    const rows = await sessionsOf(AGENT)
    const row = (id: string) =>
      rows.find((candidate) => candidate.id === id) as unknown as Record<string, number>
    expect([row(masked).masked, row(masked).approved]).toEqual([1, 0])
    expect([row(approved).masked, row(approved).approved]).toEqual([0, 1])
    expect([row(allowed).masked, row(allowed).approved]).toEqual([0, 0])
  })

  it.each([
    ['blocked', () => [held, blocked]],
    ['masked', () => [masked]],
    ['error', () => [failed]],
    ['approved', () => [approved]],
  ] as const)('filters by outcome %s', async (outcome, expected) => {
    const text = await html(`/ui/sessions?caller=console-bot&outcome=${outcome}`)
    expect(listedIds(text)).toEqual(expected())
    expect(text).toContain(`<option value="${outcome}" selected="">`)
  })

  it('filters by connection and by time range (UTC)', async () => {
    expect(listedIds(await html('/ui/sessions?connection=console-crm'))).toEqual([masked])
    const from = new Date(testStart).toISOString().slice(0, 19)
    const inRange = listedIds(await html(`/ui/sessions?caller=console-bot&from=${from}`))
    expect(inRange).toContain(allowed)
    const before = listedIds(await html(`/ui/sessions?caller=console-bot&to=${from}`))
    expect(before).toEqual([])
  })

  it('refuses a filter it cannot read with 400, naming it', async () => {
    for (const query of ['outcome=fine', 'from=yesterday', 'before=1.<script>']) {
      const text = await html(`/ui/sessions?${query}`, dana, 400)
      expect(pageCode(text)).toBe('request.invalid')
      expect(text).toContain(query.split('=')[0])
      expect(text).not.toContain('<script>')
    }
  })

  it('pages by (started_at, id), including rows that started in the same millisecond', async () => {
    const base = Date.UTC(2026, 0, 2, 3, 4, 5)
    const planted: string[] = []
    for (let index = 0; index < 60; index++) {
      const at = base + Math.floor(index / 3) // three sessions per millisecond
      const id = plantedId(at, index)
      planted.push(id)
      await plantSession({ id, callerId: PAGER, startedAt: at })
    }
    const newestFirst = [...planted].reverse()
    const first = await html(`/ui/sessions?caller=${encodeURIComponent(PAGER)}`)
    expect(listedIds(first)).toEqual(newestFirst.slice(0, 50))
    const older = /<a rel="next" href="([^"]+)"/.exec(first)?.[1]?.replaceAll('&amp;', '&') ?? ''
    expect(older).toMatch(
      /^\/ui\/sessions\?caller=agent%3Aconsole-pager&before=\d+\.[0-9a-f-]{36}$/
    )
    const second = await html(older)
    expect(listedIds(second)).toEqual(newestFirst.slice(50))
    expect(second).not.toContain('rel="next"')
    expect(second).toContain(`href="/ui/sessions?caller=agent%3Aconsole-pager">Newest</a>`)
  })
})

describe('the session page', () => {
  it('shows the timeline: command, classification, decision and rule, outcome, timings, integrity', async () => {
    const id = await recordedId('console-api/orders/7?expand=items', {
      headers: { 'x-request-note': 'look at order 7' },
    })
    const text = await html(`/ui/sessions/${id}`)
    expect(text).toContain('integrity verified (4 events, signed)')
    expect(text).toContain('GET /orders/7?expand=items')
    expect(text).toContain(
      'Decision: <strong>allow</strong><span class="muted"> (connection default)</span>'
    )
    expect(text).toMatch(/<strong>ok<\/strong> — HTTP 200 in \d+ ms/)
    expect(text).toContain('look at order 7')
    expect(text).not.toContain(SECRET_CREDENTIAL)
    expect(text).not.toContain('Kill session')
  })

  it('shows the rule that blocked a command', async () => {
    const id = await recordedId('console-api/orders/8', { method: 'DELETE' })
    const text = await html(`/ui/sessions/${id}`)
    expect(text).toContain(
      'Decision: <strong>block</strong> by rule <code>no-deletes</code> — Agents never delete.'
    )
    expect(text).toContain('policy.blocked')
  })

  it('shows what was masked on the way to the caller, never the value', async () => {
    const id = await recordedId('console-crm/customers')
    const text = await html(`/ui/sessions/${id}`)
    expect(text).toContain(
      'Masked for the caller: email masked (<code>path:$.customers[*].email</code>)'
    )
    expect(text).not.toContain('ada@example.com')
  })

  it('shows an approval with who approved it', async () => {
    const marker = `console-${crypto.randomUUID()}`
    const held = await agentCall(`console-api/payments/${marker}`, {
      method: 'POST',
      headers: { prefer: 'wait=0' },
      body: 'x',
    })
    expect(held.status).toBe(202)
    const approval = await pendingApproval('console-api', marker)
    const inbox = await html('/ui/approvals')
    expect(inbox).toContain(`href="/approvals/${approval.id}"`)
    expect(inbox).toContain(marker)
    await decideWith(await personToken('alice', ['payments-approvers']), approval.id, 'approve')
    const text = await html(`/ui/sessions/${approval.sessionId}`)
    expect(text).toContain(
      `<a href="/approvals/${approval.id}">Approval</a> <strong>pending</strong>`
    )
    const id = await recordedId(`console-api/payments/${marker}`, {
      method: 'POST',
      headers: { 'x-gatehouse-approval': approval.id },
      body: 'x',
    })
    expect(await html(`/ui/sessions/${id}`)).toMatch(
      /<strong>approved<\/strong> by alice@example.com \(user:alice\) via api/
    )
  })

  it('escapes hostile content from the transcript', async () => {
    const id = await recordedId(`console-api${HOSTILE_PATH}`, {
      headers: { 'x-note': HOSTILE_HEADER },
    })
    const text = await html(`/ui/sessions/${id}`)
    expect(text).not.toContain('<script>alert(1)')
    expect(text).not.toContain('<img src=x')
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(text).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;')
  })

  it('shows a tampered transcript as broken and prints unreadable lines escaped', async () => {
    const id = plantedId(Date.UTC(2025, 5, 1), 1)
    await plantSession({
      id,
      callerId: 'agent:planted',
      startedAt: Date.UTC(2025, 5, 1),
      events: 3,
      lines: (prev, seq) =>
        seq === 2
          ? '</pre><script>alert(2)</script>'
          : eventLine(id, seq, prev, seq === 0 ? 'session.start' : 'command', {
              command: { kind: 'sql', text: "SELECT '</code><script>alert(3)</script>'" },
              decision: { action: 'allow', rule: { name: '<b>rule</b>' }, reason: '' },
            }),
    })
    const text = await html(`/ui/sessions/${id}`)
    expect(text).toContain('>tampered (1 problem)</span>')
    expect(text).toMatch(/<li><strong>unparseable<\/strong> \(event #2\): [^<]+<\/li>/)
    expect(text).not.toMatch(/<script>alert\([23]\)/)
    expect(text).toContain('&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;')
    expect(text).toContain('&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt;')
    expect(text).toContain('<code>&lt;b&gt;rule&lt;/b&gt;</code>')
  })

  it('names the event an edit of a signed, recorded session changed', async () => {
    const id = await recordedId('console-api/orders/10')
    const prefix = (await sessionsOf(AGENT)).find((row) => row.id === id)?.transcriptPrefix ?? ''
    const chunk = await env.SESSIONS.get(`${prefix}000000.ndjson`)
    const edited = (await chunk?.text())?.replace('/orders/10', '/orders/11') ?? ''
    await env.SESSIONS.put(`${prefix}000000.ndjson`, edited)
    const text = await html(`/ui/sessions/${id}`)
    expect(text).toMatch(/>tampered \(\d+ problems?\)<\/span>/)
    expect(text).toContain('<li><strong>modified</strong> (event #1)')
    expect(text).toContain('GET /orders/11')
  })

  it('tells an index that disagrees with R2 from a broken chain', async () => {
    const id = plantedId(Date.UTC(2025, 5, 2), 2)
    await plantSession({
      id,
      callerId: 'agent:planted',
      startedAt: Date.UTC(2025, 5, 2),
      events: 2,
      lines: (prev, seq) => eventLine(id, seq, prev, 'session.start', {}),
    })
    await env.DB.prepare('UPDATE sessions SET events = 3 WHERE id = ?').bind(id).run()
    expect(await html(`/ui/sessions/${id}`)).toContain(
      'index mismatch (2 events stored, 3 indexed)'
    )
  })

  it('answers 404 for sessions it does not know, whatever the id looks like', async () => {
    for (const id of ['00000000-0000-7000-8000-000000000000', 'nope', '..%2F..%2Fv1']) {
      expect(pageCode(await html(`/ui/sessions/${id}`, dana, 404))).toBe('resource.not_found')
    }
  })
})

describe('containment from the console', () => {
  it('revokes an agent token: the agent is refused at once, and the action is recorded', async () => {
    const { token, id } = await mintToken('console-victim', ['console-api'])
    const tokens = await html('/ui/tokens')
    expect(tokens).toContain(`action="/ui/tokens/${id}/revoke"`)
    const response = await postForm(`/ui/tokens/${id}/revoke`, { csrf: csrfOf(tokens) }, dana)
    expect([response.status, response.headers.get('location')]).toEqual([
      303,
      `/ui/tokens?revoked=${id}`,
    ])
    expect(await html(`/ui/tokens?revoked=${id}`)).toContain(
      `Token ${id} (agent console-victim) is revoked`
    )

    const refused = await gatewayFetch('/proxy/console-api/orders/1', asAgent(token))
    expect(await errorOf(refused)).toMatchObject({ status: 401, code: 'auth.revoked_token' })
    expect(await adminJson('GET', `/tokens/${id}`)).toMatchObject({
      status: 'revoked',
      revokedBy: 'user:dana',
    })

    await adminAction('user:dana', {
      action: 'token.revoke',
      tokenId: id,
      name: 'console-victim',
      via: 'console',
    })
  })

  it('refuses a revoke without the CSRF token, or from another site, and changes nothing', async () => {
    const { id } = await mintToken('console-kept', ['console-api'])
    const csrf = csrfOf(await html('/ui/tokens'))
    const attempts = [
      postForm(`/ui/tokens/${id}/revoke`, {}, dana),
      postForm(
        `/ui/tokens/${id}/revoke`,
        { csrf: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` },
        dana
      ),
      postForm(`/ui/tokens/${id}/revoke`, { csrf }, dana, {
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      }),
      // Another person's token does not fit this session.
      postForm(`/ui/tokens/${id}/revoke`, { csrf: csrfOf(await html('/ui/tokens', erin)) }, dana),
    ]
    for (const response of await Promise.all(attempts)) {
      const text = await response.text()
      expect([response.status, pageCode(text)]).toEqual([403, 'auth.csrf_failed'])
    }
    const signedOut = await postForm(`/ui/tokens/${id}/revoke`, { csrf }, undefined)
    expect([signedOut.status, pageCode(await signedOut.text())]).toEqual([
      401,
      'auth.session_required',
    ])
    const outsider = await postForm(
      `/ui/tokens/${id}/revoke`,
      { csrf: csrfOf(await html('/ui/tokens', erin)) },
      bob
    )
    expect(outsider.status).toBe(403)
    expect(await adminJson('GET', `/tokens/${id}`)).toMatchObject({
      status: 'active',
      revokedAt: null,
    })
  })

  it('kills a live Postgres tunnel: the client gets FATAL 57P01 and the kill names the responder', async () => {
    const tunnel = await PgTunnel.open('console-pg', agentToken)
    try {
      const rows = await tunnel.query('SELECT email FROM customers ORDER BY id')
      expect(rows.rows.flat().every((value) => value?.startsWith('tok_'))).toBe(true)
      await tunnel.query('SELECT 1')
      const notices = summarize(tunnel.greeting).notices.join('\n')
      const id = /recorded as ([0-9a-f-]{36})\./.exec(notices)?.[1] ?? ''
      const live = await html(`/ui/sessions?live=1&connection=console-pg`)
      expect(listedIds(live)).toContain(id)
      const before = await html(`/ui/sessions/${id}`)
      expect(before).toContain('Kill session')
      expect(before).toContain('email masked (<code>column:public.customers.email</code>)')

      const response = await postForm(
        `/ui/sessions/${id}/kill`,
        { csrf: csrfOf(before), reason: 'reading customer e-mails' },
        dana
      )
      expect([response.status, response.headers.get('location')]).toEqual([
        303,
        `/ui/sessions/${id}?killed=1`,
      ])
      const rest = summarize(await tunnel.closed())
      expect(rest.errors[0]).toMatchObject({ code: '57P01', detail: 'gatehouse: session.killed' })

      const events = await transcriptOf(id)
      expect(events.find((event) => event.type === 'access.refused')?.data).toMatchObject({
        code: 'session.killed',
        killedBy: 'user:dana',
        reason: 'reading customer e-mails',
      })
      const after = await html(`/ui/sessions/${id}?killed=1`)
      expect(after).toContain('Kill sent.')
      expect(after).toContain('session.killed')
      expect(after).toContain('integrity verified')
      await adminAction('user:dana', {
        action: 'session.kill',
        sessionId: id,
        reason: 'reading customer e-mails',
        first: true,
        via: 'console',
      })
    } finally {
      tunnel.close()
    }
  })

  it('refuses to kill a session that has ended (409), and a kill without CSRF (403)', async () => {
    const id = await recordedId('console-api/orders/9')
    const csrf = csrfOf(await html('/ui/tokens'))
    const ended = await postForm(`/ui/sessions/${id}/kill`, { csrf }, dana)
    expect([ended.status, pageCode(await ended.text())]).toEqual([409, 'resource.conflict'])
    const forged = await postForm(`/ui/sessions/${id}/kill`, { reason: 'x' }, erin)
    expect([forged.status, pageCode(await forged.text())]).toEqual([403, 'auth.csrf_failed'])
  })
})

describe('read-only pages', () => {
  it('lists connections without their credentials', async () => {
    expect((await putSshConnection('console-box')).status).toBe(201)
    const text = await html('/ui/connections')
    expect(text).toContain(`ssh://127.0.0.1:${sshd().port} (host key ssh-ed25519 pinned)`)
    expect(text).not.toContain('OPENSSH PRIVATE KEY')
    expect(text).toContain('console-api')
    expect(text).toContain('stored (sealed)')
    expect(text).toContain(`postgres://127.0.0.1:${inject('postgresPort')}/app (no TLS)`)
    expect(text).not.toContain(SECRET_CREDENTIAL)
    expect(text).not.toContain(PG_ROLES.scram.password)
  })

  it('shows the policy in force with its rules and source', async () => {
    const text = await html('/ui/policy', erin)
    expect(text).toContain('no-deletes')
    expect(text).toContain('Agents never delete.')
    expect(text).toMatch(/<dt>Version<\/dt><dd>\d+<\/dd>/)
  })
})

/** The admin.action of `callerId` that matches `expected` (recorded off the request path). */
async function adminAction(
  callerId: string,
  expected: Record<string, unknown>
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const rows = (await sessionsOf(callerId)).filter((row) => row.protocol === 'admin')
    const actions = (await Promise.all(rows.map((row) => transcriptOf(row.id)))).flatMap((events) =>
      events.filter((event) => event.type === 'admin.action').map((event) => event.data)
    )
    const found = actions.find((action) =>
      Object.entries(expected).every(([key, value]) => action[key] === value)
    )
    if (found) return found
    if (Date.now() > deadline) {
      throw new Error(
        `no admin action like ${JSON.stringify(expected)}: ${JSON.stringify(actions)}`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
