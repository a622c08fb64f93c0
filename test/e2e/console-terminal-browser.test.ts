/**
 * The console's terminal player in chromium: a gateway under `wrangler dev` (its own, with
 * OIDC sign-in on) whose local R2 and D1 hold an SSH session with a two-part asciicast,
 * seeded with wrangler's own commands before it starts. Dana (a responder) opens the
 * session, presses play, and the terminal shows what the recording printed, with the
 * page's strict Content-Security-Policy in force (any violation fails the test). A
 * screenshot goes to test/e2e/screenshots/console-terminal.png.
 */
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DevState } from '../../cli/dev/state.ts'
import { wranglerEntry } from '../../cli/dev/wrangler.ts'
import {
  terminalPartKey,
  terminalPrefix,
  transcriptPrefix,
} from '../../src/recorder/transcript-keys.ts'
import { REPO_ROOT } from '../harness/dev-stack.ts'
import { type ConsoleStack, signInAs, startConsoleStack } from './support/console-stack.ts'

const PAGE_TIMEOUT_MS = 30_000
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url))
const BUCKET = 'gatehouse-sessions'
const SESSION_ID = '019ab000-0000-7000-8000-00000000c0de'
const STARTED_AT = Date.UTC(2026, 10, 23, 9, 0, 0)
/** What the recorded shell printed, split across the two parts (colours included). */
const PART_0 = [
  JSON.stringify({ version: 2, width: 80, height: 12, timestamp: STARTED_AT / 1000 }),
  JSON.stringify([0.2, 'o', 'gatehouse-ssh@box:~$ ']),
  JSON.stringify([0.6, 'i', 'ls\r']),
  JSON.stringify([0.7, 'o', 'ls\r\n\u001b[1;34mreports\u001b[0m  notes.txt\r\n']),
  '',
].join('\n')
const PART_1 = [
  JSON.stringify([1.0, 'o', 'gatehouse-ssh@box:~$ ']),
  JSON.stringify([1.3, 'o', 'echo replayed-from-part-two\r\nreplayed-from-part-two\r\n']),
  '',
].join('\n')

let state: string
let dev: DevState
let stack: ConsoleStack | undefined
let browser: Browser | undefined
let gw: string

/** Runs wrangler against the state's local storage, as `gatehouse dev` would. */
async function wrangler(args: string[]): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [wranglerEntry(), ...args, '--local', '--persist-to', dev.persistDir],
    { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } }
  )
}

async function seedRecording(): Promise<void> {
  const prefix = transcriptPrefix(SESSION_ID, STARTED_AT)
  await wrangler([
    'd1',
    'execute',
    'DB',
    '--command',
    `INSERT INTO sessions (id, protocol, connection_name, caller_id, caller_name, caller_via,
       started_at, ended_at, status, outcome, transcript_prefix, chunks, last_hash, events)
     VALUES ('${SESSION_ID}', 'ssh', 'box', 'agent:e2e-ssh-agent', 'e2e-ssh-agent',
       'agent_token', ${STARTED_AT}, ${STARTED_AT + 2_000}, 'closed', 'ok', '${prefix}', 0,
       NULL, 0)`,
  ])
  const terminal = terminalPrefix(prefix, 0)
  for (const [part, text] of [PART_0, PART_1].entries()) {
    const file = join(state, `part-${part}.cast`)
    await writeFile(file, text)
    await wrangler([
      'r2',
      'object',
      'put',
      `${BUCKET}/${terminalPartKey(terminal, part)}`,
      '--file',
      file,
    ])
  }
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true })
  stack = await startConsoleStack({
    name: 'terminal',
    beforeServe: async (seeded, dir) => {
      ;[dev, state] = [seeded, dir]
      await seedRecording()
    },
  })
  ;[gw, browser] = [stack.url, stack.browser]
}, 180_000)

afterAll(async () => {
  await stack?.stop()
}, 60_000)

describe('the terminal player in a real browser', () => {
  it('plays an SSH session recorded in two parts, under the page security policy', async () => {
    const context = await browser?.newContext({ viewport: { width: 1200, height: 900 } })
    if (!context) throw new Error('chromium did not start')
    context.setDefaultTimeout(PAGE_TIMEOUT_MS)
    try {
      const page = await context.newPage()
      const problems: string[] = []
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
      // A blocked script, stylesheet, fetch or WebAssembly compile is reported as a CSP refusal.
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/.test(message.text())) {
          problems.push(`console: ${message.text()}`)
        }
      })
      const session = `${gw}/ui/sessions/${SESSION_ID}`
      await signInAs(page, stack?.provider.issuer ?? '', session)
      expect(await page.textContent('main')).toContain('Terminal replay')

      await page.click('.ap-player')
      const terminal = page.locator('.ap-term')
      await expect
        .poll(async () => (await terminal.textContent()) ?? '', { timeout: PAGE_TIMEOUT_MS })
        .toContain('replayed-from-part-two')
      const text = (await terminal.textContent()) ?? ''
      expect(text).toContain('reports  notes.txt')
      expect(text).not.toContain('\u001b')
      await page.screenshot({ path: join(SCREENSHOTS, 'console-terminal.png'), fullPage: true })

      const download = await page.request.get(`${session}/terminal/0.cast?download=1`)
      expect(download.headers()['content-disposition']).toBe(
        `attachment; filename="${SESSION_ID}-terminal-0.cast"`
      )
      expect(await download.text()).toBe(`${PART_0}${PART_1}`)
      expect(problems).toEqual([])
    } finally {
      await context.close()
    }
  }, 120_000)
})
