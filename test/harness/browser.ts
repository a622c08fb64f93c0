/**
 * A real browser for end-to-end tests: Debian's chromium driven by playwright-core (which
 * ships no browser of its own). Installs the package when it is missing, like the
 * PostgreSQL harness, since a fresh machine has only what the project's files install.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Installs Debian's `chromium` when it is missing; needs root. */
export function ensureChromiumInstalled(): void {
  if (existsSync(CHROMIUM_PATH)) return
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH} and installing it needs root: apt-get install chromium`
    )
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
    stdio: 'inherit',
    env,
  })
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`)
  }
}

/** A headless chromium; the sandbox needs user namespaces that root in a container lacks. */
export async function launchBrowser(): Promise<Browser> {
  ensureChromiumInstalled()
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  })
}
