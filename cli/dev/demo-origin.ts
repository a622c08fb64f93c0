/**
 * The demo "shop API" `gatehouse dev` puts behind the gateway. It answers only callers
 * that present its own secret (`Authorization: Bearer <secret>`), which the gateway holds
 * sealed and injects; the agent never sees it, so a 200 through the gateway proves the
 * injection. It counts what reached it per route, so anyone holding the secret can check
 * that refused commands never arrived (`GET /_demo/stats`).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The largest request body the demo reads; it is a demo, not an upload service. */
const MAX_BODY_BYTES = 64 * 1024

export type DemoOrigin = {
  url: string
  close: () => Promise<void>
}

export type DemoOriginOptions = {
  host: string
  port: number
  /** The bearer secret the origin requires. */
  secret: string
  /** Called once per request, after the answer (for the dev log). */
  log?: (line: string) => void
}

/** What the origin has seen: authorised requests per route, and refused callers. */
export type DemoStats = { requests: Record<string, number>; unauthorized: number }

const ORDERS = [
  { id: '1001', customer: 'Ada Lovelace', total: 4200, currency: 'EUR', status: 'paid' },
  { id: '1002', customer: 'Grace Hopper', total: 1999, currency: 'USD', status: 'shipped' },
  { id: '1003', customer: 'Alan Turing', total: 350, currency: 'GBP', status: 'pending' },
]

type Route = {
  method: string
  /** The route's name in stats, e.g. `GET /orders/:id`. */
  name: string
  pattern: RegExp
  handle: (match: RegExpExecArray, body: unknown) => { status: number; body: unknown }
}

const ROUTES: Route[] = [
  {
    method: 'GET',
    name: 'GET /',
    pattern: /^\/$/,
    handle: () => ({
      status: 200,
      body: {
        service: 'gatehouse demo shop API',
        routes: ROUTES.map((route) => route.name),
      },
    }),
  },
  {
    method: 'GET',
    name: 'GET /orders',
    pattern: /^\/orders\/?$/,
    handle: () => ({ status: 200, body: { orders: ORDERS } }),
  },
  {
    method: 'GET',
    name: 'GET /orders/:id',
    pattern: /^\/orders\/([^/]+)\/?$/,
    handle: (match) => {
      const order = ORDERS.find((candidate) => candidate.id === match[1])
      return order
        ? { status: 200, body: { order } }
        : { status: 404, body: { error: `no order ${match[1]}` } }
    },
  },
  {
    method: 'POST',
    name: 'POST /payments',
    pattern: /^\/payments\/?$/,
    handle: (_match, body) => ({
      status: 201,
      body: { payment: { id: `pay_${Date.now()}`, status: 'captured', request: body } },
    }),
  },
  {
    method: 'DELETE',
    name: 'DELETE /admin/users/:id',
    pattern: /^\/admin\/users\/([^/]+)\/?$/,
    handle: (match) => ({ status: 200, body: { deleted: { user: match[1] } } }),
  },
]

const STATS_PATH = '/_demo/stats'

/** Starts the demo origin on host:port; rejects with EADDRINUSE if the port is taken. */
export async function startDemoOrigin(options: DemoOriginOptions): Promise<DemoOrigin> {
  const expected = digest(`Bearer ${options.secret}`)
  const stats: DemoStats = { requests: {}, unauthorized: 0 }

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://demo').pathname
    const answer = await handle(req, path)
    options.log?.(`${req.method} ${req.url} → ${answer.status}`)
    res.writeHead(answer.status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(answer.body))
  })

  async function handle(req: IncomingMessage, path: string) {
    // Digests have equal length, so the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      stats.unauthorized++
      req.resume()
      return {
        status: 401,
        body: { error: 'This origin needs its own bearer secret; reach it through Gatehouse.' },
      }
    }
    if (req.method === 'GET' && path === STATS_PATH) {
      req.resume()
      return { status: 200, body: stats }
    }
    const route = ROUTES.find(
      (candidate) => candidate.method === req.method && candidate.pattern.test(path)
    )
    const name = route?.name ?? `${req.method} (no route)`
    stats.requests[name] = (stats.requests[name] ?? 0) + 1
    const body = await readJsonBody(req)
    const match = route?.pattern.exec(path)
    if (!route || !match)
      return { status: 404, body: { error: `no route for ${req.method} ${path}` } }
    return route.handle(match, body)
  }

  await listen(server, options.host, options.port)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function listen(server: ReturnType<typeof createServer>, host: string, port: number) {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** The request body as JSON when it is JSON, as text otherwise, null when empty. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_BODY_BYTES) chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
