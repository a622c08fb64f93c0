/**
 * Console session list over a large index: 100 000 sessions in the local D1 of a real
 * `wrangler dev` gateway, and a responder signed in through a real OpenID Provider (the
 * tests' one). Each sample is a whole `GET /ui/sessions…` answered over loopback: the
 * cookie check, the D1 batch (page + filter suggestions) and the hono/jsx render. The
 * requests rotate through what a responder does: the first page, older pages by cursor
 * (deep ones too), and each filter (agent, connection, outcome, live, time range).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { openDevState } from '../cli/dev/state.ts'
import {
  applyMigrations,
  startWranglerDev,
  waitUntilServing,
  wranglerEntry,
} from '../cli/dev/wrangler.ts'
import { distinctFreePorts } from '../test/harness/free-port.ts'
import { signInVars } from '../test/harness/oidc-clients.ts'
import { signInAtProvider } from '../test/harness/oidc-login.ts'
import { startOidcProvider } from '../test/harness/oidc-provider.ts'
import { ROOT } from './bench-gateway.ts'
import { summarize } from './stats.ts'

const SESSIONS = 100_000
/** D1 refuses statements over 100 KB; a row is about 350 bytes. */
const ROWS_PER_INSERT = 200
const AGENTS = 40
const CONNECTIONS = ['orders-api', 'billing-api', 'crm', 'appdb', 'warehouse', 'reports']
/** The index spans the last 30 days. */
const SPAN_MS = 30 * 86_400_000
const ROUNDS = 25
const WARMUP_ROUNDS = 3
const READY_TIMEOUT_MS = 120_000
/** A responder at the test provider (CONSOLE_GROUPS: gatehouse-responders). */
const RESPONDER = 'dana'

export type ConsoleListBench = {
  sessions: number
  /** Over every request of every kind. */
  p50Millis: number
  p99Millis: number
  /** Each kind of request on its own. */
  byRequest: Record<string, { p50Millis: number; p99Millis: number }>
}

export async function benchConsoleList(
  log: (line: string) => void = () => {}
): Promise<ConsoleListBench> {
  const state = await mkdtemp(join(tmpdir(), 'gatehouse-bench-console-'))
  const [port, inspectorPort] = await distinctFreePorts()
  const url = `http://127.0.0.1:${port}`
  const provider = await startOidcProvider({ redirectUris: [`${url}/auth/callback`] })
  const dev = await openDevState(state)
  const stops: (() => Promise<unknown>)[] = [() => provider.close(), () => dev.release()]
  try {
    await applyMigrations({ root: ROOT, persistDir: dev.persistDir })
    const now = Date.now()
    log(`  seeding ${SESSIONS} sessions into local D1`)
    await seedSessions(state, dev.persistDir, now)
    const gateway = startWranglerDev({
      root: ROOT,
      persistDir: dev.persistDir,
      envFile: dev.envFile,
      port,
      inspectorPort,
      extraArgs: signInVars(provider.issuer, url),
    })
    stops.unshift(() => gateway.stop())
    await waitUntilServing(`${url}/healthz`, gateway, READY_TIMEOUT_MS)
    const cookie = await signIn(url)

    const requests = await listRequests(url, cookie, now)
    const samples = new Map<string, number[]>(Object.keys(requests).map((name) => [name, []]))
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      for (const [name, path] of Object.entries(requests)) {
        const millis = await timeGet(url, path, cookie)
        if (round >= WARMUP_ROUNDS) samples.get(name)?.push(millis)
      }
    }
    const round2 = (value: number) => Math.round(value * 100) / 100
    const all = summarize([...samples.values()].flat())
    const byRequest = Object.fromEntries(
      [...samples].map(([name, values]) => {
        const stats = summarize(values)
        return [name, { p50Millis: round2(stats.p50), p99Millis: round2(stats.p99) }]
      })
    )
    return { sessions: SESSIONS, p50Millis: round2(all.p50), p99Millis: round2(all.p99), byRequest }
  } finally {
    for (const stop of stops) await stop().catch(() => {})
    await rm(state, { recursive: true, force: true })
  }
}

/** The list requests timed each round, by name. */
async function listRequests(
  url: string,
  cookie: string,
  now: number
): Promise<Record<string, string>> {
  const day = new Date(now - 3 * 86_400_000).toISOString().slice(0, 10)
  const requests: Record<string, string> = {
    'first page': '/ui/sessions',
    'agent filter': '/ui/sessions?caller=agent%3Aagent-7',
    'connection filter': '/ui/sessions?connection=billing-api',
    'outcome masked': '/ui/sessions?outcome=masked',
    'outcome blocked': '/ui/sessions?outcome=blocked',
    'outcome approved': '/ui/sessions?outcome=approved',
    'live only': '/ui/sessions?live=1',
    'one day': `/ui/sessions?from=${day}T00%3A00&to=${day}T23%3A59`,
    'agent + outcome error': '/ui/sessions?caller=agent%3Aagent-3&outcome=error',
  }
  // Older pages: follow the cursor a few pages in, and jump deep into the index.
  let path = '/ui/sessions'
  for (let page = 0; page < 3; page++) {
    const html = await (await fetch(`${url}${path}`, { headers: { cookie } })).text()
    const next = /<a rel="next" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&')
    if (!next) throw new Error(`no older page after ${path}`)
    path = next
  }
  requests['4th page (cursor)'] = path
  const deep = now - Math.floor(SPAN_MS * 0.9)
  requests['deep cursor (90% back)'] =
    `/ui/sessions?before=${deep}.${sessionId(deep, 0).replace(/-[0-9a-f]{12}$/, '-ffffffffffff')}`
  return requests
}

async function timeGet(url: string, path: string, cookie: string): Promise<number> {
  const start = performance.now()
  const response = await fetch(`${url}${path}`, { headers: { cookie } })
  const body = await response.text()
  const millis = performance.now() - start
  if (response.status !== 200 || !body.includes('<table class="list">')) {
    throw new Error(`GET ${path} answered ${response.status}: ${body.slice(0, 500)}`)
  }
  return millis
}

/** Signs the responder in as a browser would; returns the session cookie pair. */
async function signIn(url: string): Promise<string> {
  const login = await fetch(`${url}/auth/login?return=%2Fui%2Fsessions`, { redirect: 'manual' })
  const loginCookie = cookiePair(login, '__Host-gatehouse_login')
  const back = await signInAtProvider(login.headers.get('location') ?? '', RESPONDER)
  const callback = await fetch(back, { redirect: 'manual', headers: { cookie: loginCookie } })
  if (callback.status !== 303) {
    throw new Error(`sign-in failed (${callback.status}): ${await callback.text()}`)
  }
  return cookiePair(callback, '__Host-gatehouse_approver')
}

function cookiePair(response: Response, name: string): string {
  const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`))
  if (!line) throw new Error(`no ${name} cookie (status ${response.status})`)
  return line.split(';')[0] ?? ''
}

/**
 * Writes the index rows with `wrangler d1 execute --local`, in multi-row INSERTs: about
 * what a busy month looks like (most sessions fine, some blocked, masked or failing).
 */
async function seedSessions(state: string, persistDir: string, now: number): Promise<void> {
  const statements: string[] = []
  let values: string[] = []
  let random = 0x2545f491
  const next = () => {
    // xorshift32: the same index on every run.
    random ^= random << 13
    random ^= random >>> 17
    random ^= random << 5
    return (random >>> 0) / 0x1_0000_0000
  }
  for (let index = 0; index < SESSIONS; index++) {
    const startedAt = now - Math.floor(next() * SPAN_MS)
    const id = sessionId(startedAt, index)
    const roll = next()
    const outcome = roll < 0.85 ? 'ok' : roll < 0.93 ? 'blocked' : roll < 0.98 ? 'error' : 'refused'
    const commands = 1 + Math.floor(next() * 20)
    const blocked = outcome === 'blocked' ? 1 : 0
    const errors = outcome === 'error' ? 1 : 0
    const masked = next() < 0.2 ? 1 + Math.floor(next() * commands) : 0
    const approved = next() < 0.01 ? 1 : 0
    const open = index % 5000 === 0
    const agent = `agent-${Math.floor(next() * AGENTS)}`
    const connection = CONNECTIONS[Math.floor(next() * CONNECTIONS.length)] ?? 'crm'
    const protocol = connection.endsWith('api') || connection === 'crm' ? 'http' : 'postgres'
    const date = new Date(startedAt).toISOString().slice(0, 10).replaceAll('-', '/')
    values.push(
      `('${id}','${protocol}','${connection}','agent:${agent}','${agent}','agent_token',NULL,'203.0.113.7','bench',${startedAt},${open ? 'NULL' : startedAt + 1 + Math.floor(next() * 60_000)},'${open ? 'open' : 'closed'}','${outcome}',${commands},${commands - blocked},${blocked},${approved},${errors},${commands * 120},${commands * 900},'sessions/${date}/${id}/',1,NULL,${commands * 2 + 2},${masked},${approved})`
    )
    if (values.length === ROWS_PER_INSERT) {
      statements.push(insertStatement(values))
      values = []
    }
  }
  if (values.length) statements.push(insertStatement(values))
  const file = join(state, 'seed.sql')
  await writeFile(file, `${statements.join('\n')}\n`)
  await runWrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persistDir, '--file', file])
}

function insertStatement(values: string[]): string {
  return `INSERT INTO sessions (id, protocol, connection_name, caller_id, caller_name, caller_via, token_id, client_ip, user_agent, started_at, ended_at, status, outcome, commands, allowed, blocked, approvals_required, errors, bytes_up, bytes_down, transcript_prefix, chunks, last_hash, events, masked, approved) VALUES ${values.join(',')};`
}

/** A UUIDv7-shaped id for `at` (the recorder's layout), unique by `index`. */
function sessionId(at: number, index: number): string {
  const time = at.toString(16).padStart(12, '0')
  const tail = index.toString(16).padStart(12, '0')
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-${tail}`
}

function runWrangler(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [wranglerEntry(), ...args, '--config', join(ROOT, 'wrangler.toml')],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, stdio: 'pipe' }
    )
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`wrangler ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`))
    )
  })
}

// `node bench/console-list.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)
  log('console session list (100 000 indexed sessions)')
  const result = await benchConsoleList(log)
  log(`  p50 ${result.p50Millis} ms, p99 ${result.p99Millis} ms`)
  for (const [name, stats] of Object.entries(result.byRequest)) {
    log(`    ${name}: p50 ${stats.p50Millis} ms, p99 ${stats.p99Millis} ms`)
  }
}
