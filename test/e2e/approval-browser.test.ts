/**
 * The whole approval flow with real parts: a gateway under `wrangler dev` (its own, beside
 * the suite's `gatehouse dev`), a real OpenID Provider, a Slack stand-in that records the
 * webhook posts, a real origin and the suite's PostgreSQL cluster. An HTTP call and psql
 * (through `gatehouse connect`) are held for approval; chromium follows the link in the
 * recorded Slack message, signs in at the provider and decides on the approval page.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { GatehouseClient } from '../../cli/client.ts'
import { type DevState, openDevState } from '../../cli/dev/state.ts'
import {
  applyMigrations,
  type DevServer,
  startWranglerDev,
  waitUntilServing,
} from '../../cli/dev/wrangler.ts'
import { launchBrowser } from '../harness/browser.ts'
import { REPO_ROOT } from '../harness/dev-stack.ts'
import { distinctFreePorts } from '../harness/free-port.ts'
import { signInVars, type TestPerson } from '../harness/oidc-clients.ts'
import { type OidcProviderHandle, startOidcProvider } from '../harness/oidc-provider.ts'
import { type OriginServer, startOriginServer } from '../harness/origin-server.ts'
import { PG_DATABASE, PG_ROLES } from '../harness/postgres-roles.ts'
import { type SlackServer, startSlackServer } from '../harness/slack-server.ts'
import { type ProcessResult, run, startTunnel, type Tunnel } from './support/postgres.ts'

const READY_TIMEOUT_MS = 120_000
const SLACK_TIMEOUT_MS = 60_000
const PAGE_TIMEOUT_MS = 30_000
/** How long the held callers may wait in all; the decision comes well before. */
const HOLD_TIMEOUT_MS = 150_000
const PAYMENT_BODY = '{"amount":4200,"to":"ACME"}'
const PG_UPDATE = 'UPDATE customers SET name = name WHERE id = 1'

let state: string
let dev: DevState
let gateway: DevServer | undefined
let provider: OidcProviderHandle | undefined
let slack: SlackServer | undefined
let origin: OriginServer | undefined
let tunnel: Tunnel | undefined
let browser: Browser | undefined
let gw: string
let admin: GatehouseClient
let agentToken: string

beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-approval-browser-'))
  const [port, inspectorPort] = await distinctFreePorts()
  gw = `http://127.0.0.1:${port}`
  ;[provider, slack, origin] = await Promise.all([
    startOidcProvider({ redirectUris: [`${gw}/auth/callback`] }),
    startSlackServer(),
    startOriginServer(),
  ])
  dev = await openDevState(state)
  await applyMigrations({ root: REPO_ROOT, persistDir: dev.persistDir })
  gateway = startWranglerDev({
    root: REPO_ROOT,
    persistDir: dev.persistDir,
    envFile: dev.envFile,
    port,
    inspectorPort,
    extraArgs: [
      ...signInVars(provider.issuer, gw),
      ...['--var', `SLACK_WEBHOOK_URL:${slack.url}/webhook/T1/B1/x`],
    ],
  })
  await waitUntilServing(`${gw}/healthz`, gateway, READY_TIMEOUT_MS)

  admin = new GatehouseClient({ gateway: gw, token: dev.adminToken })
  await admin.json('PUT', '/v1/admin/connections/shop', {
    json: { kind: 'http', target: { url: `http://127.0.0.1:${origin.port}` } },
  })
  await admin.json('PUT', '/v1/admin/connections/pg', {
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
    },
  })
  const approval = { approvers: ['idp:payments-approvers'] }
  await admin.json('PUT', '/v1/admin/policy', {
    json: {
      version: 1,
      connections: {
        shop: {
          grants: ['agent:e2e-requester'],
          default: 'allow',
          approval,
          rules: [
            {
              name: 'payments',
              match: { methods: ['POST'], paths: ['/payments/**'] },
              action: 'require_approval',
              reason: 'Moving money needs a human.',
            },
          ],
        },
        pg: {
          grants: ['agent:e2e-requester'],
          approval,
          rules: [
            {
              name: 'customer-writes',
              match: { classes: ['write'], tables: ['customers'] },
              action: 'require_approval',
              reason: 'Changing customers needs a human.',
            },
            {
              name: 'the-rest',
              match: { classes: ['read', 'write', 'transaction', 'session', 'utility'] },
              action: 'allow',
            },
          ],
        },
      },
    },
  })
  ;({ token: agentToken } = await admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
    json: { name: 'e2e-requester', connections: ['shop', 'pg'] },
  }))
  tunnel = await startTunnel('pg', agentToken, gw)
  browser = await launchBrowser()
}, 180_000)

afterAll(async () => {
  await browser?.close().catch(() => {})
  await tunnel?.stop()
  await gateway?.stop()
  await Promise.all([provider?.close(), slack?.close(), origin?.close()])
  await dev?.release()
  if (state) await rm(state, { recursive: true, force: true })
}, 60_000)

describe('approving in a real browser from the Slack link', () => {
  it('alice signs in at the IdP and approves a held HTTP call and a held psql UPDATE', async () => {
    const marker = `browser-approve-${Date.now()}`
    const seen = approvalUrls().length
    const call = heldCall(marker)
    const psql = run(
      'psql',
      [
        `host=127.0.0.1 port=${tunnelPort()} dbname=${PG_DATABASE} user=e2e-agent sslmode=disable`,
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        PG_UPDATE,
      ],
      { timeoutMs: HOLD_TIMEOUT_MS }
    )

    const urls = (await waitForApprovalUrls(seen + 2)).slice(seen)
    expect(urls).toHaveLength(2)
    for (const url of urls) expect(url).toMatch(new RegExp(`^${gw}/approvals/[0-9a-f]{64}$`))
    const ids = urls.map(approvalIdOf)

    const context = await newContext()
    try {
      const page = await context.newPage()
      const commands: string[] = []
      for (const [index, url] of urls.entries()) {
        // The first visit signs in at the provider; the second rides on the session cookie.
        await openApprovalPage(page, url, 'alice', { expectSignIn: index === 0 })
        const main = (await page.textContent('main')) ?? ''
        expect(main).toContain('pending')
        commands.push(main.includes(PG_UPDATE) ? 'pg' : main.includes(marker) ? 'http' : main)
        await page.click('button.approve')
        await page
          .getByText('You approved this request.')
          .waitFor({ timeout: PAGE_TIMEOUT_MS })
          .catch(async (error) => {
            throw new Error(`no approval note on ${page.url()}:\n${await page.content()}`, {
              cause: error,
            })
          })
      }
      expect(commands.sort()).toEqual(['http', 'pg'])
    } finally {
      await context.close()
    }

    const answer = await call
    expect(answer.status, answer.text).toBe(200)
    const echoed = JSON.parse(answer.text) as { method: string; url: string; body: string }
    expect(echoed).toMatchObject({ method: 'POST', url: `/payments/${marker}`, body: PAYMENT_BODY })
    expect(await originArrivals(marker)).toBe(1)

    const result: ProcessResult = await psql
    expect(
      result.code,
      `psql stderr:\n${result.stderr}\ntunnel:\n${tunnel?.stdout()}${tunnel?.stderr()}`
    ).toBe(0)
    expect(result.stdout).toContain('UPDATE 1')

    const { approvals } = await admin.json<{ approvals: ApprovalRow[] }>(
      'GET',
      '/v1/admin/approvals',
      { query: { state: 'approved' } }
    )
    for (const id of ids) {
      expect(approvals.find((row) => row.id === id)).toMatchObject({
        id,
        state: 'approved',
        decidedVia: 'web',
        decidedBy: 'user:alice',
      })
    }

    // Without a signing secret the message carries links; the outcome is a follow-up post.
    for (const id of ids) {
      const outcome = await eventually(() => outcomePost(id), SLACK_TIMEOUT_MS)
      expect(JSON.stringify(outcome)).toContain('Approved')
    }
  }, 240_000)

  it('bob is not an approver: the page refuses him and the approval stays pending; alice denies it', async () => {
    const marker = `browser-deny-${Date.now()}`
    const seen = approvalUrls().length
    const call = heldCall(marker)
    const [url = ''] = (await waitForApprovalUrls(seen + 1)).slice(seen)
    const id = approvalIdOf(url)

    const bobContext = await newContext()
    try {
      const page = await bobContext.newPage()
      await openApprovalPage(page, url, 'bob', { expectSignIn: true })
      const reloaded = await page.reload()
      expect(reloaded?.status()).toBe(403)
      expect(await page.textContent('body')).toContain('Not one of the approvers')
      expect(await page.locator('button.approve').count()).toBe(0)
      expect(await page.locator('button.deny').count()).toBe(0)
    } finally {
      await bobContext.close()
    }
    const pending = await admin.json<{ approval: { state: string; decision?: unknown } }>(
      'GET',
      `/v1/admin/approvals/${id}`
    )
    expect(pending.approval.state).toBe('pending')
    expect(pending.approval.decision ?? null).toBeNull()

    const aliceContext = await newContext()
    try {
      const page = await aliceContext.newPage()
      await openApprovalPage(page, url, 'alice', { expectSignIn: true })
      expect(await page.textContent('main')).toContain(marker)
      await page.fill('textarea[name=comment]', 'not this one')
      await page.click('button.deny')
      await page.getByText('You denied this request.').waitFor({ timeout: PAGE_TIMEOUT_MS })
    } finally {
      await aliceContext.close()
    }

    const answer = await call
    expect(answer.status, answer.text).toBe(403)
    expect((JSON.parse(answer.text) as { error: { code: string } }).error.code).toBe(
      'approval.denied'
    )
    expect(await originArrivals(marker)).toBe(0)
    const denied = await admin.json<{ approvals: ApprovalRow[] }>('GET', '/v1/admin/approvals', {
      query: { state: 'denied' },
    })
    expect(denied.approvals.find((row) => row.id === id)).toMatchObject({
      decidedVia: 'web',
      decidedBy: 'user:alice',
    })
    const outcome = await eventually(() => outcomePost(id), SLACK_TIMEOUT_MS)
    expect(JSON.stringify(outcome)).toContain('Denied')
  }, 240_000)
})

type ApprovalRow = { id: string; state: string; decidedBy: string | null; decidedVia: string }

type SlackBlock = {
  type: string
  text?: { text?: string }
  elements?: { action_id?: string; url?: string; text?: string | { text?: string } }[]
}

function tunnelPort(): number {
  if (!tunnel) throw new Error('the tunnel did not start')
  return tunnel.port
}

/** The POST the agent makes, held until decided; resolves with status and body text. */
function heldCall(marker: string): Promise<{ status: number; text: string }> {
  const call = fetch(`${gw}/proxy/shop/payments/${marker}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${agentToken}`,
      prefer: 'wait=120',
      'content-type': 'application/json',
      'x-test-marker': marker,
    },
    body: PAYMENT_BODY,
    signal: AbortSignal.timeout(HOLD_TIMEOUT_MS),
  }).then(async (response) => ({ status: response.status, text: await response.text() }))
  // Awaited later; a failure before then must not surface as an unhandled rejection.
  call.catch(() => {})
  return call
}

function webhookPosts(): { blocks: SlackBlock[] }[] {
  return (slack?.received() ?? [])
    .filter((request) => request.path.startsWith('/webhook/'))
    .map((request) => request.body as { blocks?: SlackBlock[] })
    .map((body) => ({ blocks: Array.isArray(body?.blocks) ? body.blocks : [] }))
}

/** The "Review in Gatehouse" link of every approval message so far, in order. */
function approvalUrls(): string[] {
  return webhookPosts().flatMap((post) =>
    post.blocks
      .filter((block) => block.type === 'actions')
      .flatMap((block) => block.elements ?? [])
      .filter((button) => button.action_id === 'gatehouse.review' && button.url)
      .map((button) => button.url as string)
  )
}

async function waitForApprovalUrls(count: number): Promise<string[]> {
  return eventually(async () => {
    const urls = approvalUrls()
    if (urls.length < count) {
      throw new Error(
        `expected ${count} approval messages at the Slack stand-in, got ${urls.length}:\n` +
          JSON.stringify(webhookPosts(), null, 2).slice(0, 4000)
      )
    }
    return urls
  }, SLACK_TIMEOUT_MS)
}

/** A webhook post about `id` without decision buttons: the outcome follow-up. */
async function outcomePost(id: string): Promise<{ blocks: SlackBlock[] }> {
  const post = webhookPosts().find(
    (candidate) =>
      JSON.stringify(candidate.blocks).includes(id) &&
      !candidate.blocks.some((block) => block.type === 'actions')
  )
  if (!post) throw new Error(`no outcome post for approval ${id} at the Slack stand-in`)
  return post
}

function approvalIdOf(url: string): string {
  const id = /\/approvals\/([0-9a-f]{64})$/.exec(url)?.[1]
  if (!id) throw new Error(`not an approval page URL: ${url}`)
  return id
}

async function originArrivals(marker: string): Promise<number> {
  const response = await fetch(
    `http://127.0.0.1:${origin?.port}/_control/arrivals?marker=${encodeURIComponent(marker)}`
  )
  return ((await response.json()) as { arrivals: unknown[] }).arrivals.length
}

async function newContext(): Promise<BrowserContext> {
  if (!browser) throw new Error('chromium did not start')
  const context = await browser.newContext()
  context.setDefaultTimeout(PAGE_TIMEOUT_MS)
  return context
}

/**
 * Opens an approval page as a person would from Slack: the gateway sends an unknown
 * visitor to the provider, whose development forms take any password and ask for
 * consent; the callback lands back on the page.
 */
async function openApprovalPage(
  page: Page,
  url: string,
  person: TestPerson,
  options: { expectSignIn: boolean }
): Promise<void> {
  const issuer = provider?.issuer ?? ''
  await page.goto(url)
  if (options.expectSignIn) {
    if (!page.url().startsWith(issuer)) {
      throw new Error(
        `expected the provider's sign-in, got ${page.url()}:\n${await page.content()}`
      )
    }
    await page.fill('input[name=login]', person)
    await page.fill('input[name=password]', 'any password works here')
    await page.click('button[type=submit]')
    await page.locator('input[name=login]').waitFor({ state: 'detached' })
    if (page.url().startsWith(issuer)) await page.click('button[type=submit]')
  }
  const gatewayOrigin = new URL(gw).origin
  await page
    .waitForURL((at) => at.origin === gatewayOrigin && at.pathname === new URL(url).pathname)
    .catch(async (error) => {
      throw new Error(`never reached ${url}; at ${page.url()}:\n${await page.content()}`, {
        cause: error,
      })
    })
}

/** Retries `check` until it stops throwing, then rethrows its last error. */
async function eventually<T>(check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
