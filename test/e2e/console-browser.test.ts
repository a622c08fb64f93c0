/**
 * The responder console with real parts: a gateway under `wrangler dev` (its own, beside
 * the suite's `gatehouse dev`, with OIDC sign-in on), a real OpenID Provider, the suite's
 * PostgreSQL cluster behind a masked connection, `gatehouse connect` and psql as an agent
 * runs them, and chromium. Dana (a responder) signs in, filters the sessions, opens the
 * psql session and sees the e-mails reported masked, revokes an agent token, and kills
 * the live psql session: psql sees its connection end. Screenshots of the main pages go
 * to test/e2e/screenshots/.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { GatehouseClient } from '../../cli/client.ts'
import type { DevState } from '../../cli/dev/state.ts'
import { PG_DATABASE, PG_ROLES } from '../harness/postgres-roles.ts'
import { type ConsoleStack, signInAs, startConsoleStack } from './support/console-stack.ts'
import { clientEnv, run, startTunnel, type Tunnel } from './support/postgres.ts'
import { MASKED_CONNECTION } from './support/postgres-connections.ts'

const PAGE_TIMEOUT_MS = 30_000
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url))
/** The masked connection's policy, as the e2e setup registers it on the suite's stack. */
const POLICY_FIXTURE = fileURLToPath(new URL('./fixtures/postgres-policy.yaml', import.meta.url))
const AGENT = 'e2e-console-agent'
const VICTIM = 'e2e-console-victim'
const RAW_EMAIL = 'grace@example.com'

let dev: DevState
let stack: ConsoleStack | undefined
let tunnel: Tunnel | undefined
let psql: { child: ChildProcess; exited: Promise<PsqlExit>; stderr: () => string } | undefined
let browser: Browser | undefined
let gw: string
let admin: GatehouseClient
let victim: { token: string; id: string }
/** What wrangler printed besides request lines, to explain a failure. */
const wranglerLog: string[] = []

type PsqlExit = { code: number | null; signal: NodeJS.Signals | null }

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  stack = await startConsoleStack({
    name: 'console',
    onLine: (line) => {
      if (!line.includes('[wrangler:info]')) wranglerLog.push(line)
    },
  })
  ;[gw, dev, browser] = [stack.url, stack.dev, stack.browser]

  admin = new GatehouseClient({ gateway: gw, token: dev.adminToken })
  await admin.json('PUT', `/v1/admin/connections/${MASKED_CONNECTION}`, {
    json: {
      kind: 'postgres',
      target: {
        host: '127.0.0.1',
        port: inject('postgresPort'),
        database: PG_DATABASE,
        tls: 'disable',
      },
      credential: {
        type: 'password',
        username: PG_ROLES.scram.user,
        password: PG_ROLES.scram.password,
      },
      description: 'e2e: the seeded shop, customers masked',
    },
  })
  const fixture = parseYaml(readFileSync(POLICY_FIXTURE, 'utf8')) as {
    connections: Record<string, { masking: unknown }>
  }
  await admin.json('PUT', '/v1/admin/policy', {
    json: {
      version: 1,
      connections: {
        [MASKED_CONNECTION]: {
          grants: [`agent:${AGENT}`, `agent:${VICTIM}`],
          default: 'allow',
          masking: fixture.connections[MASKED_CONNECTION]?.masking,
        },
      },
    },
  })
  const { token } = await admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
    json: { name: AGENT, connections: [MASKED_CONNECTION] },
  })
  victim = await admin.json<{ token: string; id: string }>('POST', '/v1/admin/tokens', {
    json: { name: VICTIM, connections: [MASKED_CONNECTION] },
  })
  tunnel = await startTunnel(MASKED_CONNECTION, token, gw)
}, 180_000)

afterAll(async () => {
  psql?.child.kill('SIGKILL')
  await tunnel?.stop()
  await stack?.stop()
}, 60_000)

describe('the responder console in a real browser', () => {
  it('dana signs in, finds the masked psql session, revokes a token and kills a live session', async () => {
    // An agent's finished psql session that read masked e-mails (and named one in a WHERE).
    const reads = await runPsql([
      '-c',
      'SELECT email FROM customers ORDER BY id',
      '-c',
      `SELECT id FROM customers WHERE email = '${RAW_EMAIL}'`,
    ])
    expect(reads.code, reads.stderr).toBe(0)
    const maskedId = await eventually(() => agentSession((row) => row.masked > 0), 30_000)
    // And a live one, busy in a long statement.
    psql = startPsql(['SELECT pg_sleep(600);'])
    const liveId = await eventually(liveSessionRunning, 30_000).catch((error: unknown) => {
      throw new Error(
        `${error}\npsql: ${psql?.stderr()}\ntunnel: ${tunnel?.stdout()}${tunnel?.stderr()}\nwrangler: ${wranglerLog.join('\n').slice(-6000)}`
      )
    })

    const context = await browser?.newContext({ viewport: { width: 1400, height: 900 } })
    if (!context) throw new Error('chromium did not start')
    context.setDefaultTimeout(PAGE_TIMEOUT_MS)
    try {
      const page = await context.newPage()
      await signInAs(page, stack?.provider.issuer ?? '', `${gw}/ui/sessions`)
      expect(await page.textContent('header')).toContain('dana@example.com (responder)')
      await shot(page, 'sessions')

      // Filter as a person would: the form is a plain GET.
      await page.fill('input[name=caller]', `agent:${AGENT}`)
      await page.selectOption('select[name=outcome]', 'masked')
      await page.click('form.filters button[type=submit]')
      await page.waitForURL((url) => url.searchParams.get('outcome') === 'masked')
      expect(await listedSessions(page)).toEqual([maskedId])
      await shot(page, 'sessions-filtered')

      // The session's timeline: the SQL, its classification, the masking, never the value.
      await page.click(`a[href="/ui/sessions/${maskedId}"]`)
      await page.waitForURL(`${gw}/ui/sessions/${maskedId}`)
      const main = (await page.textContent('main')) ?? ''
      expect(main).toContain('integrity verified')
      expect(main).toContain('SELECT email FROM customers ORDER BY id')
      expect(main).toContain('read (SelectStmt) on customers')
      expect(main).toContain('email masked (column:public.customers.email)')
      expect(main).toContain("SELECT id FROM customers WHERE email = '[REDACTED]'")
      expect(main).toContain('Recorded masked: email masked (detector:email)')
      expect(main).not.toContain(RAW_EMAIL)
      await shot(page, 'session')

      // Revoke the other agent's token from the tokens page.
      await page.click('nav a[href="/ui/tokens"]')
      const row = page.locator('tr', { hasText: VICTIM })
      await row.locator('button', { hasText: 'Revoke' }).click()
      await page.waitForURL((url) => url.searchParams.get('revoked') === victim.id)
      expect(await page.textContent('main')).toContain(
        `Token ${victim.id} (agent ${VICTIM}) is revoked`
      )
      await shot(page, 'tokens')
      const refused = await fetch(`${gw}/v1/whoami`, {
        headers: { authorization: `Bearer ${victim.token}` },
      })
      expect(refused.status).toBe(401)
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'auth.revoked_token'
      )

      for (const section of ['approvals', 'connections', 'policy'] as const) {
        await page.click(`nav a[href="/ui/${section}"]`)
        await page.waitForURL(`${gw}/ui/${section}`)
        await shot(page, section)
      }
      expect(await page.textContent('main')).toContain(MASKED_CONNECTION)

      // Find the live session and kill it: psql itself sees the connection end.
      await page.click('nav a[href="/ui/sessions"]')
      await page.check('input[name=live]')
      await page.click('form.filters button[type=submit]')
      await page.waitForURL((url) => url.searchParams.get('live') === '1')
      expect(await listedSessions(page)).toEqual([liveId])
      await page.click(`a[href="/ui/sessions/${liveId}"]`)
      await page.waitForURL(`${gw}/ui/sessions/${liveId}`)
      expect(await page.textContent('main')).toContain('SELECT pg_sleep(600)')
      await shot(page, 'session-live')
      await page.fill('input[name=reason]', 'reading customer e-mails')
      await page.click('button.danger')
      await page.waitForURL(`${gw}/ui/sessions/${liveId}?killed=1`)
      const exit = await withTimeout(psql.exited, 30_000, 'psql did not end after the kill')
      expect(exit.code, psql.stderr()).toBe(2)
      // The gateway sends FATAL 57P01 before closing; psql may only see the close.
      expect(psql.stderr()).toMatch(
        /terminating connection due to administrator command|server closed the connection unexpectedly/
      )
      const ended = await eventually(async () => {
        await page.reload()
        const text = (await page.textContent('main')) ?? ''
        if (!text.includes('integrity verified')) throw new Error('not closed yet')
        return text
      }, 30_000)
      expect(ended).toContain('session.killed')
      expect(ended).toContain('killed by user:dana: reading customer e-mails')
      await shot(page, 'session-killed')
    } finally {
      await context.close()
    }
  }, 240_000)
})

type IndexedSession = { id: string; status: string; masked: number; commands: number }

/** The agent's session that `matches`, from the admin API's index. */
async function agentSession(matches: (row: IndexedSession) => boolean): Promise<string> {
  const { sessions } = await admin.json<{ sessions: IndexedSession[] }>(
    'GET',
    '/v1/admin/sessions',
    { query: { caller: `agent:${AGENT}` } }
  )
  const found = sessions.find(matches)
  if (!found) throw new Error(`no such session of ${AGENT} yet: ${JSON.stringify(sessions)}`)
  return found.id
}

/** The agent's open session, once its running statement is in the transcript. */
async function liveSessionRunning(): Promise<string> {
  const id = await agentSession((row) => row.status === 'open')
  const { text: transcript } = await admin.raw('GET', `/v1/admin/sessions/${id}/transcript`)
  if (!transcript.includes('pg_sleep')) throw new Error('the statement is not recorded yet')
  return id
}

async function listedSessions(page: Page): Promise<string[]> {
  const links = await page.$$eval('table.list tbody a[href^="/ui/sessions/"]', (anchors) =>
    anchors.map((anchor) => anchor.getAttribute('href') ?? '')
  )
  return links.map((href) => href.slice('/ui/sessions/'.length))
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true })
}

function conninfo(): string {
  return `host=127.0.0.1 port=${tunnel?.port} dbname=${PG_DATABASE} user=e2e-agent sslmode=disable`
}

/** psql through the tunnel with `args`, to the end. */
function runPsql(args: string[]) {
  return run('psql', [conninfo(), '-v', 'ON_ERROR_STOP=1', ...args])
}

/** psql through the tunnel, reading `statements` from a stdin that stays open. */
function startPsql(statements: string[]) {
  const child = spawn('psql', [conninfo(), '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
    env: clientEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  child.stdout?.resume()
  child.stdin?.write(`${statements.join('\n')}\n`)
  const exited = new Promise<PsqlExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal }))
  )
  return { child, exited, stderr: () => stderr }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Retries `check` until it stops throwing, then rethrows its last error. */
async function eventually<T>(check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
