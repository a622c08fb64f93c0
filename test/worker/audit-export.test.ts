import { createScheduledController } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest'
import { openDatabase } from '../../src/db/client.ts'
import { exportCursors, sessions } from '../../src/db/schema.ts'
import worker from '../../src/index.ts'
import { admin, adminJson, gatewayFetch } from './support/gateway.ts'
import { keysUnder, type RecordedSession, recordSessionAt } from './support/recorded-sessions.ts'
import { type SinkRequest, signatureValid, sinkReceived, sinkUrl } from './support/webhook-sink.ts'

const AUDIT_SECRET = 'audit-webhook-secret-for-the-tests'
const HOUR_MS = 3_600_000
const MIB = 1024 * 1024
const db = openDatabase(env.DB)
let warnings: MockInstance<typeof console.warn>

type Batch = {
  id: string
  from: string
  to: string
  count: number
  events: { sid: string; seq: number }[]
}

beforeEach(async () => {
  // Each test starts from an empty index and a fresh cursor (R2 leftovers are never read).
  await db.delete(sessions)
  await db.delete(exportCursors)
  vi.spyOn(console, 'log').mockImplementation(() => {})
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => {})
  return () => vi.restoreAllMocks()
})

/** Runs the Worker's cron handler at `now`, pushing to `url`, with retention off. */
async function runExport(url: string, now = Date.now()) {
  await worker.scheduled(createScheduledController({ scheduledTime: now, cron: '*/10 * * * *' }), {
    ...env,
    AUDIT_WEBHOOK_URL: url,
    RETENTION_DAYS: '0',
  } as Env)
}

/** A session's stored lines, in order (chunks only). */
async function linesOf(session: RecordedSession): Promise<string[]> {
  const lines: string[] = []
  for (const key of await keysUnder(session.prefix)) {
    if (!key.endsWith('.ndjson')) continue
    const text = (await (await env.SESSIONS.get(key))?.text()) ?? ''
    lines.push(...text.split('\n').filter(Boolean))
  }
  return lines
}

async function cursorRow() {
  return db.select().from(exportCursors).get()
}

function batchOf(request: SinkRequest | undefined): Batch {
  return request?.body as Batch
}

describe('the pushed audit export', () => {
  it('sends the events of closed sessions, oldest end first, byte for byte, in a signed batch', async () => {
    const now = Date.now()
    const first = await recordSessionAt(now - 3 * HOUR_MS, { commands: 2 })
    const second = await recordSessionAt(now - 2 * HOUR_MS)
    const open = await recordSessionAt(now - 2 * HOUR_MS, { open: true })
    // Closed a moment ago: not settled yet, so it waits for a later run.
    const fresh = await recordSessionAt(now - 60_000, { durationMs: 1_000 })

    const url = sinkUrl('audit')
    await runExport(url, now)

    const [received, ...more] = await sinkReceived(url)
    expect(more).toEqual([])
    const lines = [...(await linesOf(first)), ...(await linesOf(second))]
    const batch = batchOf(received)
    const to = `${second.startedAt + 1_000}.${second.id}.2.0`
    expect(batch).toEqual({
      id: expect.stringMatching(/^b_[0-9a-f]{32}$/),
      from: '0..0.0',
      to,
      count: lines.length,
      events: lines.map((line) => JSON.parse(line)),
    })
    // The stored lines are spliced in verbatim, so receivers can re-check the hash chain.
    expect(received?.raw).toContain(`"events":[${lines.join(',')}]}`)
    expect(received?.headers['x-gatehouse-batch']).toBe(batch.id)
    expect(
      await signatureValid(
        AUDIT_SECRET,
        received?.headers['x-gatehouse-signature'],
        received?.raw ?? ''
      )
    ).toBe(true)
    const sids = new Set(batch.events.map((event) => event.sid))
    expect(sids.has(open.id)).toBe(false)
    expect(sids.has(fresh.id)).toBe(false)
    expect(await cursorRow()).toMatchObject({
      id: 'audit-webhook',
      position: to,
      lastBatch: batch.id,
      lastError: null,
    })

    // Nothing new: the next run sends nothing.
    await runExport(url, now + 60_000)
    expect(await sinkReceived(url)).toHaveLength(1)
    // Once the fresh session has settled, it follows.
    await runExport(url, now + 10 * 60_000)
    const later = await sinkReceived(url)
    expect(later).toHaveLength(2)
    expect(batchOf(later[1]).from).toBe(to)
    expect(batchOf(later[1]).events.map((event) => event.sid)).toEqual(
      (await linesOf(fresh)).map(() => fresh.id)
    )
  })

  it('advances the cursor only after a 2xx: a failed batch is sent again on the next run', async () => {
    const now = Date.now()
    await recordSessionAt(now - HOUR_MS)
    const down = sinkUrl('down', 503)
    await runExport(down, now)
    const [failed] = await sinkReceived(down)
    expect(batchOf(failed).count).toBe(4)
    expect(await cursorRow()).toMatchObject({
      position: '0..0.0',
      lastBatch: null,
      lastError: 'the audit webhook answered HTTP 503',
    })
    expect(warnings).toHaveBeenCalledWith(
      'audit export: the receiver did not take a batch',
      expect.objectContaining({ batches: 0, failure: 'the audit webhook answered HTTP 503' })
    )

    const up = sinkUrl('up')
    await runExport(up, now)
    const [delivered] = await sinkReceived(up)
    // The same range again, under the same batch id, so the receiver can tell.
    expect(batchOf(delivered)).toEqual(batchOf(failed))
    expect(await cursorRow()).toMatchObject({
      position: batchOf(delivered).to,
      lastBatch: batchOf(delivered).id,
      lastError: null,
    })
  })

  it('keeps batches to 500 events, resuming inside a session where the last batch ended', async () => {
    const now = Date.now()
    const long = await recordSessionAt(now - HOUR_MS, { commands: 300 })
    const url = sinkUrl('long')
    await runExport(url, now)
    const batches = (await sinkReceived(url)).map(batchOf)
    expect(batches.map((batch) => batch.count)).toEqual([500, 102])
    expect(batches[1]?.from).toBe(batches[0]?.to)
    // Event 500 is the outcome of command 249, in chunk 249 (one chunk per write-ahead).
    expect(batches[0]?.to).toBe(`${long.startedAt + 1_000}.${long.id}.249.500`)
    const seqs = batches.flatMap((batch) => batch.events.map((event) => event.seq))
    expect(seqs).toEqual(Array.from({ length: 602 }, (_, seq) => seq))
  })

  it('keeps batches under 1 MiB', async () => {
    const now = Date.now()
    await recordSessionAt(now - HOUR_MS, { commands: 5, body: 'x'.repeat(300_000) })
    const url = sinkUrl('large')
    await runExport(url, now)
    const received = await sinkReceived(url)
    expect(received.map((request) => batchOf(request).count)).toEqual([7, 5])
    for (const request of received)
      expect(new TextEncoder().encode(request.raw).length).toBeLessThanOrEqual(MIB)
  })

  it('sends a line that is not JSON as an unreadable event instead of breaking the batch', async () => {
    const now = Date.now()
    const damaged = await recordSessionAt(now - HOUR_MS)
    const key = `${damaged.prefix}000001.ndjson`
    await env.SESSIONS.put(key, 'this is not { json\n')
    const url = sinkUrl('damaged')
    await runExport(url, now)
    const [received] = await sinkReceived(url)
    expect(batchOf(received).events.at(-1)).toEqual({
      sid: damaged.id,
      seq: 0,
      chunk: 1,
      unreadable: 'this is not { json',
    })
  })
})

describe('GET /v1/admin/audit/events', () => {
  it('pages through the same stream with since and next, and an empty page keeps next', async () => {
    const now = Date.now()
    const first = await recordSessionAt(now - 2 * HOUR_MS, { commands: 2 })
    const second = await recordSessionAt(now - HOUR_MS)
    const lines = [...(await linesOf(first)), ...(await linesOf(second))]

    const page1 = await adminJson<{ next: string; count: number; events: unknown[] }>(
      'GET',
      '/audit/events?limit=4'
    )
    expect(page1).toEqual({
      next: `${first.startedAt + 1_000}.${first.id}.1.4`,
      count: 4,
      events: lines.slice(0, 4).map((line) => JSON.parse(line)),
    })
    const page2 = await adminJson<{ next: string; count: number; events: unknown[] }>(
      'GET',
      `/audit/events?since=${page1.next}`
    )
    expect(page2.events).toEqual(lines.slice(4).map((line) => JSON.parse(line)))
    const page3 = await adminJson('GET', `/audit/events?since=${page2.next}`)
    expect(page3).toEqual({ next: page2.next, count: 0, events: [] })
  })

  it('refuses a cursor it did not hand out, and callers who are not administrators', async () => {
    const bad = await admin('GET', '/audit/events?since=1.2')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('request.invalid')
    const anonymous = await gatewayFetch('/v1/admin/audit/events')
    expect(anonymous.status).toBe(401)
    await anonymous.body?.cancel()
  })
})
