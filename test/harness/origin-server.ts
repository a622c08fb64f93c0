/**
 * A real HTTP origin for the tests. It echoes what it received (so tests can see which
 * headers and bodies reached it), records every arrival with its time, and can hold a
 * request open until the test releases it, to observe the gateway mid-request.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { ORIGIN_CUSTOMERS } from './origin-customers.ts'

export type Arrival = {
  at: number
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  bodyBytes: number
  bodySha256: string
  body: string
}

export type OriginServer = { port: number; close: () => Promise<void> }

export async function startOriginServer(): Promise<OriginServer> {
  const arrivals: Arrival[] = []
  const holds = new Map<string, () => void>()
  const released = new Set<string>()

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin')
    if (url.pathname.startsWith('/_control/')) return control(url, req, res)
    const at = Date.now()
    const hold = req.headers['x-test-hold']
    const body = await readBody(req)
    const arrival: Arrival = {
      at,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
      body: body.length <= 65_536 ? body.toString('utf8') : '',
    }
    arrivals.push(arrival)
    if (typeof hold === 'string' && !released.has(hold)) {
      await new Promise<void>((resolve) => holds.set(hold, resolve))
    }
    return respond(url, arrival, res)
  })

  function control(url: URL, req: IncomingMessage, res: ServerResponse) {
    if (url.pathname === '/_control/arrivals') {
      if (req.method === 'DELETE') arrivals.length = 0
      const marker = url.searchParams.get('marker')
      const matching = marker
        ? arrivals.filter((arrival) => arrival.headers['x-test-marker'] === marker)
        : arrivals
      return json(res, 200, { arrivals: matching })
    }
    if (url.pathname === '/_control/release') {
      const key = url.searchParams.get('key') ?? ''
      released.add(key)
      holds.get(key)?.()
      holds.delete(key)
      return json(res, 200, { released: key })
    }
    return json(res, 404, { error: 'unknown control route' })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const release of holds.values()) release()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function respond(url: URL, arrival: Arrival, res: ServerResponse) {
  // Connections may point at a base path; the behaviours below are keyed on what follows it.
  const path = url.pathname.replace(/^\/base(?=\/)/, '')
  if (path.startsWith('/slow')) {
    await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 1000)))
  }
  if (path.startsWith('/status/')) {
    return json(res, Number(path.slice('/status/'.length)), { status: path })
  }
  if (path.startsWith('/redirect')) {
    res.writeHead(302, { location: url.searchParams.get('to') ?? '/' })
    return res.end()
  }
  if (path.startsWith('/customers')) return customers(url, res)
  if (path.startsWith('/stream')) {
    // A chunked response of `bytes` bytes, written in 64 KiB pieces.
    const total = Number(url.searchParams.get('bytes') ?? 0)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-origin-hop': 'kept' })
    const piece = Buffer.alloc(65_536, 0x61)
    for (let sent = 0; sent < total; sent += piece.length) {
      const slice = piece.subarray(0, Math.min(piece.length, total - sent))
      if (!res.write(slice)) await new Promise((resolve) => res.once('drain', resolve))
    }
    return res.end()
  }
  res.setHeader('connection', 'keep-alive, x-origin-private')
  res.setHeader('x-origin-private', 'hop-by-hop, must be dropped')
  res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/'])
  return json(res, 200, {
    method: arrival.method,
    url: arrival.url,
    headers: arrival.headers,
    bodyBytes: arrival.bodyBytes,
    bodySha256: arrival.bodySha256,
    body: arrival.body,
  })
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** JSON with a Content-Length, as most APIs answer (`/stream` is the chunked case). */
function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/**
 * `/customers`: the records as JSON, chunked (`?chunk=N` bytes per write, so values
 * straddle chunk boundaries), optionally compressed (`?encoding=gzip|deflate|br`), with a
 * Content-Length (`?length`), or as plain text (`?format=text`).
 */
async function customers(url: URL, res: ServerResponse) {
  const text = url.searchParams.get('format') === 'text'
  const body = Buffer.from(
    text
      ? ORIGIN_CUSTOMERS.map((customer) => `${customer.email} ${customer.note}`).join('\n')
      : JSON.stringify({ customers: ORIGIN_CUSTOMERS, next: null })
  )
  const encoding = url.searchParams.get('encoding')
  const encoded =
    encoding === 'gzip'
      ? gzipSync(body)
      : encoding === 'deflate'
        ? deflateSync(body)
        : encoding === 'br'
          ? brotliCompressSync(body)
          : body
  res.writeHead(200, {
    'content-type': text ? 'text/plain; charset=utf-8' : 'application/json',
    ...(encoding ? { 'content-encoding': encoding } : {}),
    ...(url.searchParams.has('length') ? { 'content-length': encoded.length } : {}),
  })
  const chunk = Number(url.searchParams.get('chunk') ?? encoded.length)
  for (let at = 0; at < encoded.length; at += chunk) {
    res.write(encoded.subarray(at, at + chunk))
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  res.end()
}
