/**
 * The baselines for the proxy benchmark, run by the same `wrangler dev` as the gateway:
 *
 *   /…                   a bare Worker that forwards to the origin and does nothing else;
 *   /__floor/…           the same after one D1 read and one write-once R2 put: the least
 *                        any gateway pays that must check revocation in D1 and write ahead
 *                        to R2 before forwarding;
 *   /__storage?op=&count=&writers=   how fast the local D1 and R2 simulators answer.
 */
type Env = { ORIGIN_URL: string; DB: D1Database; SESSIONS: R2Bucket }

const FLOOR_PREFIX = '/__floor'
const MAX_COUNT = 10_000
const MAX_WRITERS = 16

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname === '/__storage') return storage(url, env)
    let path = url.pathname
    if (path.startsWith(`${FLOOR_PREFIX}/`)) {
      path = path.slice(FLOOR_PREFIX.length)
      await env.DB.prepare('SELECT ?1 AS n').bind(1).first()
      await writeOnce(env, `${path}\n`)
    }
    return fetch(`${env.ORIGIN_URL}${path}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    })
  },
}

/** `count` operations split over `writers` concurrent loops; answers the wall time. */
async function storage(url: URL, env: Env): Promise<Response> {
  const op = url.searchParams.get('op')
  const count = Math.min(Number(url.searchParams.get('count') ?? 100), MAX_COUNT)
  const writers = Math.min(Number(url.searchParams.get('writers') ?? 1), MAX_WRITERS)
  if ((op !== 'r2put' && op !== 'd1read') || !(count > 0) || !(writers > 0)) {
    return Response.json(
      { error: 'op must be r2put or d1read; count, writers > 0' },
      { status: 400 }
    )
  }
  const run =
    op === 'r2put'
      ? () => writeOnce(env, 'x'.repeat(600))
      : () => env.DB.prepare('SELECT ?1 AS n').bind(1).first()
  const started = Date.now()
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let i = writer; i < count; i += writers) await run()
    })
  )
  return Response.json({ op, count, writers, millis: Date.now() - started })
}

async function writeOnce(env: Env, body: string): Promise<void> {
  const written = await env.SESSIONS.put(`floor/${crypto.randomUUID()}`, body, {
    onlyIf: { etagDoesNotMatch: '*' },
  })
  if (written === null) throw new Error('write-once put found an existing object')
}
