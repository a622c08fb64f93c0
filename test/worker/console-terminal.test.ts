/**
 * The console's terminal replay: an SSH session's asciicast parts in R2 come back as one
 * asciicast v2 file, only to console users, and the session page embeds a player for each
 * recorded terminal with the script it needs allowed from 'self' and nowhere else.
 * The admin API hands the same parts to `gatehouse verify`, byte for byte.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  terminalPartKey,
  terminalPrefix,
  transcriptPrefix,
} from '../../src/recorder/transcript-keys.ts'
import { pageCode, signIn } from './support/approver-session.ts'
import { admin, gatewayFetch } from './support/gateway.ts'

const HEADER = `${JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1_700_000_000 })}\n`
const PART_0 = `${HEADER}[0.1, "o", "$ "]\n[0.5, "i", "ls\\r"]\n[0.6, "o", "ls\\r\\nREADME.md\\r\\n"]\n`
const PART_1 = '[1.2, "r", "100x30"]\n[1.5, "o", "$ exit\\r\\n"]\n'
const CAST = `${PART_0}${PART_1}`

let dana: string
let bob: string
let ssh: { id: string; prefix: string }
let http: { id: string; prefix: string }

/** A session row as the recorder would index it, with no transcript chunks (not needed here). */
async function plantSession(id: string, protocol: string, startedAt: number) {
  const prefix = transcriptPrefix(id, startedAt)
  await env.DB.prepare(
    `INSERT INTO sessions (id, protocol, connection_name, caller_id, caller_name, caller_via,
       started_at, ended_at, status, outcome, transcript_prefix, chunks, last_hash, events)
     VALUES (?, ?, 'box', 'agent:terminal-bot', 'terminal-bot', 'agent_token', ?, ?, 'closed',
       'ok', ?, 0, NULL, 0)`
  )
    .bind(id, protocol, startedAt, startedAt + 5_000, prefix)
    .run()
  return { id, prefix }
}

function plantedId(at: number, tail: number): string {
  const time = at.toString(16).padStart(12, '0')
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-${tail.toString(16).padStart(12, '0')}`
}

function page(path: string, cookie?: string): Promise<Response> {
  return gatewayFetch(path, { redirect: 'manual', headers: cookie ? { cookie } : {} })
}

beforeAll(async () => {
  const at = Date.now() - 60_000
  ssh = await plantSession(plantedId(at, 0x7e41), 'ssh', at)
  http = await plantSession(plantedId(at, 0x7e42), 'http', at)
  const terminal = terminalPrefix(ssh.prefix, 0)
  await env.SESSIONS.put(terminalPartKey(terminal, 0), PART_0)
  await env.SESSIONS.put(terminalPartKey(terminal, 1), PART_1)
  // A second terminal whose part 1 is missing: only its part 0 can be played.
  const second = terminalPrefix(ssh.prefix, 1)
  await env.SESSIONS.put(terminalPartKey(second, 0), HEADER)
  await env.SESSIONS.put(terminalPartKey(second, 2), '[9, "o", "after a gap"]\n')
  // A longer one: more parts than are fetched ahead, written out of order.
  const long = terminalPrefix(ssh.prefix, 2)
  for (const part of [11, 3, 0, 7, 1, 2, 10, 4, 9, 5, 8, 6]) {
    await env.SESSIONS.put(
      terminalPartKey(long, part),
      part === 0 ? HEADER : `[${part}, "o", "part ${part}\\r\\n"]\n`
    )
  }
  dana = (await signIn('dana', '/ui/sessions')).cookie
  bob = (await signIn('bob', '/ui/sessions')).cookie
})

describe('GET /ui/sessions/:id/terminal/:n.cast', () => {
  it('returns the parts concatenated in order as one asciicast v2 file', async () => {
    const response = await page(`/ui/sessions/${ssh.id}/terminal/0.cast`, dana)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/x-asciicast')
    expect(response.headers.get('content-disposition')).toBe(
      `inline; filename="${ssh.id}-terminal-0.cast"`
    )
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.text()).toBe(CAST)
  })

  it('keeps part order over many parts', async () => {
    const response = await page(`/ui/sessions/${ssh.id}/terminal/2.cast`, dana)
    const lines = Array.from({ length: 11 }, (_, i) => `[${i + 1}, "o", "part ${i + 1}\\r\\n"]\n`)
    expect(await response.text()).toBe(`${HEADER}${lines.join('')}`)
  })

  it('offers the file as a download with ?download=1', async () => {
    const response = await page(`/ui/sessions/${ssh.id}/terminal/0.cast?download=1`, dana)
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="${ssh.id}-terminal-0.cast"`
    )
    expect(await response.text()).toBe(CAST)
  })

  it('stops at a missing part rather than serving a file with a hole, and says so', async () => {
    const response = await page(`/ui/sessions/${ssh.id}/terminal/1.cast`, dana)
    expect(response.headers.get('x-gatehouse-omitted-parts')).toBe('1')
    expect(await response.text()).toBe(HEADER)
  })

  it('sends a visitor without a console session to sign in, and serves nothing', async () => {
    const response = await page(`/ui/sessions/${ssh.id}/terminal/0.cast`)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toMatch(/^\/auth\/login\?return=%2Fui%2F/)
    expect(await response.text()).not.toContain('README.md')
  })

  it('refuses a signed-in person outside the console groups with 403', async () => {
    const response = await page(`/ui/sessions/${ssh.id}/terminal/0.cast`, bob)
    const text = await response.text()
    expect([response.status, pageCode(text)]).toEqual([403, 'access.denied'])
    expect(text).not.toContain('README.md')
  })

  it('answers 404 for a terminal, session or file name that does not exist', async () => {
    for (const path of [
      `/ui/sessions/${ssh.id}/terminal/7.cast`,
      `/ui/sessions/${http.id}/terminal/0.cast`,
      `/ui/sessions/${ssh.id}/terminal/0.ndjson`,
      `/ui/sessions/${ssh.id}/terminal/..%2F000000.cast`,
      `/ui/sessions/${plantedId(1, 1)}/terminal/0.cast`,
    ]) {
      const response = await page(path, dana)
      const text = await response.text()
      expect([response.status, pageCode(text)], path).toEqual([404, 'resource.not_found'])
    }
  })
})

describe('the session page of a terminal session', () => {
  it('embeds a player and a download link per recorded terminal', async () => {
    const response = await page(`/ui/sessions/${ssh.id}`, dana)
    const text = await response.text()
    expect(response.status, text).toBe(200)
    expect(text).toContain('<h2>Terminal replay</h2>')
    expect(text).toContain(`data-terminal-cast="/ui/sessions/${ssh.id}/terminal/0.cast"`)
    expect(text).toContain(`data-terminal-cast="/ui/sessions/${ssh.id}/terminal/1.cast"`)
    expect(text).toContain(`href="/ui/sessions/${ssh.id}/terminal/0.cast?download=1"`)
    expect(text).toContain('1 later part not shown')
    expect(text).toContain('<script src="/ui/assets/asciinema-player.min.js"></script>')
    expect(text).toContain('<script src="/ui/assets/terminal-player.js"></script>')
    expect(text).toContain('<link rel="stylesheet" href="/ui/assets/asciinema-player.css"/>')
  })

  it("allows script, stylesheets and fetches from 'self' only, and no inline script", async () => {
    const response = await page(`/ui/sessions/${ssh.id}`, dana)
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval';")
    expect(csp).toContain("connect-src 'self';")
    expect(csp).toMatch(/style-src [^;]* 'self';/)
    expect(csp).not.toContain('unsafe-inline')
    const text = await response.text()
    expect(text.match(/<script[^>]*>/g)).toEqual([
      '<script src="/ui/assets/asciinema-player.min.js">',
      '<script src="/ui/assets/terminal-player.js">',
    ])
  })

  it('keeps pages without a recording free of script', async () => {
    for (const id of [http.id]) {
      const response = await page(`/ui/sessions/${id}`, dana)
      expect(response.headers.get('content-security-policy')).not.toContain('script-src')
      expect(await response.text()).not.toMatch(/<script/i)
    }
  })

  it('serves the player and its stylesheet from the Worker, to console users only', async () => {
    const script = await page('/ui/assets/asciinema-player.min.js', dana)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await script.text()).toMatch(/^\/\* @license .*\nvar AsciinemaPlayer=/)
    const css = await page('/ui/assets/asciinema-player.css', dana)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toContain('.ap-wrapper')
    const start = await page('/ui/assets/terminal-player.js', dana)
    expect(await start.text()).toContain(
      "AsciinemaPlayer.create(element.getAttribute('data-terminal-cast')"
    )
    expect((await page('/ui/assets/asciinema-player.min.js')).status).toBe(303)
    expect((await page('/ui/assets/asciinema-player.min.js', bob)).status).toBe(403)
    expect((await page('/ui/assets/toString', dana)).status).toBe(404)
  })
})

describe('GET /v1/admin/sessions/:id/terminal-parts (what gatehouse verify downloads)', () => {
  const adminGet = (path: string) => admin('GET', `/sessions${path}`)

  it('lists every stored part of every terminal, gaps included', async () => {
    const response = await adminGet(`/${ssh.id}/terminal-parts`)
    expect(response.status).toBe(200)
    const { session, parts } = (await response.json()) as {
      session: string
      parts: { key: string; terminal: number; part: number; size: number }[]
    }
    expect(session).toBe(ssh.id)
    expect(parts.map(({ terminal, part }) => `${terminal}/${part}`)).toEqual([
      '0/0',
      '0/1',
      '1/0',
      '1/2',
      ...Array.from({ length: 12 }, (_, part) => `2/${part}`),
    ])
    expect(parts[1]).toEqual({
      key: terminalPartKey(terminalPrefix(ssh.prefix, 0), 1),
      terminal: 0,
      part: 1,
      size: PART_1.length,
    })
  })

  it('lists no parts for a session without a terminal', async () => {
    const response = await adminGet(`/${http.id}/terminal-parts`)
    expect(await response.json()).toEqual({ session: http.id, parts: [] })
  })

  it('serves a part byte for byte, the one after a gap included', async () => {
    const part = await adminGet(`/${ssh.id}/terminal-parts/0/1`)
    expect(part.status).toBe(200)
    expect(part.headers.get('content-type')).toBe('application/x-asciicast')
    expect(await part.text()).toBe(PART_1)
    const afterGap = await adminGet(`/${ssh.id}/terminal-parts/1/2`)
    expect(await afterGap.text()).toBe('[9, "o", "after a gap"]\n')
  })

  it('answers 404 for a part that is not stored and 400 for one that cannot be named', async () => {
    const missing = await adminGet(`/${ssh.id}/terminal-parts/1/1`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'resource.not_found'
    )
    for (const bad of ['x/0', '0/-1', '0/1.5', '0/10000000']) {
      const response = await adminGet(`/${ssh.id}/terminal-parts/${bad}`)
      expect(response.status, bad).toBe(400)
    }
  })

  it('is admin only', async () => {
    const response = await gatewayFetch(`/v1/admin/sessions/${ssh.id}/terminal-parts/0/0`, {
      headers: { cookie: dana },
    })
    expect(response.status).toBe(401)
  })
})
