/**
 * A stand-in for Slack: the Web API methods, incoming webhooks and response_urls the
 * gateway calls. It records every request so tests inside workerd can read them back over
 * HTTP (`GET /__received`), since they cannot share memory with this Node process.
 *
 * Behaviours keyed on the request, for failure tests:
 * - chat.postMessage / chat.update to channel `C_NOT_FOUND` → `{ok: false, error: 'channel_not_found'}`
 * - no `Authorization: Bearer` → `{ok: false, error: 'not_authed'}`
 * - `POST /webhook/gone/...` → 404 `no_service`; `POST /webhook/broken/...` → 500
 *
 * It is also the generic webhook receiver of alert and audit-export tests: any request to
 * `/webhook-sink/...` is recorded (with its raw body, for signature checks) and answered
 * 200, or with the status its path names: `/webhook-sink/503/...` → 503.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type SlackRequest = {
  at: number
  method: string
  /** Path and query, e.g. `/api/chat.postMessage`. */
  path: string
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON when the body was JSON, else the raw text. */
  body: unknown
  /** The body exactly as received. */
  raw: string
}

export type SlackServer = {
  /** Base URL, e.g. http://127.0.0.1:41234 (the Web API lives under `/api`). */
  url: string
  port: number
  received: () => SlackRequest[]
  close: () => Promise<void>
}

/** Slack-shaped ts values: seconds.micros, increasing with every posted message. */
const FIRST_TS_SECONDS = 1_700_000_000

export async function startSlackServer(): Promise<SlackServer> {
  const received: SlackRequest[] = []
  let posted = 0

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://slack')
    if (url.pathname === '/__received' && req.method === 'GET') {
      const prefix = url.searchParams.get('path') ?? ''
      return json(res, 200, { received: received.filter((r) => r.path.startsWith(prefix)) })
    }
    if (url.pathname === '/__reset' && req.method === 'POST') {
      received.length = 0
      return json(res, 200, { reset: true })
    }
    const text = await readBody(req)
    const body = parseBody(text)
    received.push({
      at: Date.now(),
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      raw: text,
    })
    if (req.method !== 'POST') return json(res, 405, { ok: false, error: 'method_not_allowed' })
    if (url.pathname.startsWith('/webhook-sink/')) {
      const status = /^\/webhook-sink\/([1-5]\d\d)\//.exec(url.pathname)?.[1]
      return json(res, status ? Number(status) : 200, { received: true })
    }
    if (url.pathname.startsWith('/api/')) return webApi(url.pathname.slice(5), req, body, res)
    if (url.pathname.startsWith('/webhook/gone/')) return plain(res, 404, 'no_service')
    if (url.pathname.startsWith('/webhook/broken/')) return plain(res, 500, 'internal_error')
    if (url.pathname.startsWith('/webhook/')) return plain(res, 200, 'ok')
    if (url.pathname.startsWith('/response/')) return plain(res, 200, 'ok')
    return plain(res, 404, 'not_found')
  })

  function webApi(method: string, req: IncomingMessage, body: unknown, res: ServerResponse) {
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
      return json(res, 200, { ok: false, error: 'not_authed' })
    }
    const fields =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
    const channel = typeof fields.channel === 'string' ? fields.channel : ''
    if (!channel) return json(res, 200, { ok: false, error: 'channel_not_found' })
    if (channel === 'C_NOT_FOUND') return json(res, 200, { ok: false, error: 'channel_not_found' })
    if (method === 'chat.postMessage') {
      posted += 1
      const ts = `${FIRST_TS_SECONDS + posted}.000100`
      return json(res, 200, { ok: true, channel, ts, message: { text: fields.text } })
    }
    if (method === 'chat.update') {
      if (typeof fields.ts !== 'string')
        return json(res, 200, { ok: false, error: 'message_not_found' })
      return json(res, 200, { ok: true, channel, ts: fields.ts, text: fields.text })
    }
    return json(res, 200, { ok: false, error: 'unknown_method' })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received: () => [...received],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function parseBody(text: string): unknown {
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

function plain(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}
