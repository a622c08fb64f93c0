/**
 * A gateway of its own for the browser tests of the console: fresh local state, migrations,
 * `wrangler dev` with OIDC sign-in against a real OpenID Provider, and chromium. A test may
 * seed the state before the gateway starts. Also the provider's development sign-in, as a
 * responder goes through it in the browser.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { type DevState, openDevState } from '../../../cli/dev/state.ts'
import {
  applyMigrations,
  type DevServer,
  startWranglerDev,
  waitUntilServing,
} from '../../../cli/dev/wrangler.ts'
import { launchBrowser } from '../../harness/browser.ts'
import { REPO_ROOT } from '../../harness/dev-stack.ts'
import { distinctFreePorts } from '../../harness/free-port.ts'
import { signInVars } from '../../harness/oidc-clients.ts'
import { type OidcProviderHandle, startOidcProvider } from '../../harness/oidc-provider.ts'

const READY_TIMEOUT_MS = 120_000

export type ConsoleStack = {
  /** The gateway's base URL. */
  url: string
  state: string
  dev: DevState
  provider: OidcProviderHandle
  browser: Browser
  /** Closes the browser, the gateway and the provider, and removes the state. */
  stop: () => Promise<void>
}

export async function startConsoleStack(options: {
  /** Names the temporary state directory. */
  name: string
  /** Runs against the migrated local state before the gateway starts (seeding). */
  beforeServe?: (dev: DevState, state: string) => Promise<void>
  /** Each line wrangler prints. */
  onLine?: (line: string) => void
}): Promise<ConsoleStack> {
  const state = await mkdtemp(join(tmpdir(), `gatehouse-e2e-${options.name}-`))
  let dev: DevState | undefined
  let provider: OidcProviderHandle | undefined
  let gateway: DevServer | undefined
  let browser: Browser | undefined
  const stop = async () => {
    await browser?.close().catch(() => {})
    await gateway?.stop()
    await provider?.close()
    await dev?.release()
    await rm(state, { recursive: true, force: true })
  }
  try {
    const [port, inspectorPort] = await distinctFreePorts()
    const url = `http://127.0.0.1:${port}`
    provider = await startOidcProvider({ redirectUris: [`${url}/auth/callback`] })
    dev = await openDevState(state)
    await applyMigrations({ root: REPO_ROOT, persistDir: dev.persistDir })
    await options.beforeServe?.(dev, state)
    gateway = startWranglerDev({
      root: REPO_ROOT,
      persistDir: dev.persistDir,
      envFile: dev.envFile,
      port,
      inspectorPort,
      ...(options.onLine ? { onLine: options.onLine } : {}),
      extraArgs: signInVars(provider.issuer, url),
    })
    await waitUntilServing(`${url}/healthz`, gateway, READY_TIMEOUT_MS)
    browser = await launchBrowser()
    return { url, state, dev, provider, browser, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Signs in at the provider's development forms as `login` and lands back on `url`. */
export async function signInAs(page: Page, issuer: string, url: string, login = 'dana') {
  await page.goto(url)
  if (!page.url().startsWith(issuer)) {
    throw new Error(`expected the provider's sign-in, got ${page.url()}:\n${await page.content()}`)
  }
  await page.fill('input[name=login]', login)
  await page.fill('input[name=password]', 'any password works here')
  await page.click('button[type=submit]')
  await page.locator('input[name=login]').waitFor({ state: 'detached' })
  if (page.url().startsWith(issuer)) await page.click('button[type=submit]')
  await page.waitForURL(url)
}
