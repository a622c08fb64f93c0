import { createScheduledController } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { appendApprovalEvent, EMPTY_LOG } from '../../src/approvals/approval-log.ts'
import { loadConfig } from '../../src/config.ts'
import { openDatabase } from '../../src/db/client.ts'
import { approvals, sessions } from '../../src/db/schema.ts'
import worker from '../../src/index.ts'
import { approvalLogPrefix } from '../../src/recorder/transcript-keys.ts'
import { runRetention } from '../../src/retention/sweep.ts'
import { DAY_MS, keysUnder, recordSessionAt } from './support/recorded-sessions.ts'
import { sinkUrl } from './support/webhook-sink.ts'

const db = openDatabase(env.DB)

afterEach(() => {
  vi.restoreAllMocks()
})

/** Runs the Worker's scheduled handler at `now` with some settings changed. */
async function runScheduled(now: number, settings: Record<string, unknown>) {
  await worker.scheduled(createScheduledController({ scheduledTime: now, cron: '*/10 * * * *' }), {
    ...env,
    AUDIT_WEBHOOK_URL: '',
    ...settings,
  } as Env)
}

async function sessionRow(id: string) {
  return db.select().from(sessions).where(eq(sessions.id, id)).get()
}

/** Logged retention reports of this test. */
function retentionLog() {
  return vi.spyOn(console, 'log').mockImplementation(() => {})
}

describe('retention of sessions', () => {
  it('removes closed sessions that ended before the cutoff from R2 and D1, and keeps open and newer ones', async () => {
    const log = retentionLog()
    const now = Date.now()
    const old = await recordSessionAt(now - 100 * DAY_MS, { commands: 2 })
    const oldButOpen = await recordSessionAt(now - 100 * DAY_MS, { open: true })
    // Started before the cutoff, ended after it: kept until it ended long enough ago.
    const endedRecently = await recordSessionAt(now - 91 * DAY_MS, { durationMs: 2 * DAY_MS })
    const recent = await recordSessionAt(now - 10 * DAY_MS)
    expect(await keysUnder(old.prefix)).toEqual([
      `${old.prefix}000000.ndjson`,
      `${old.prefix}000001.ndjson`,
      `${old.prefix}000002.ndjson`,
      `${old.prefix}manifest.json`,
    ])

    await runScheduled(now, { RETENTION_DAYS: '90' })

    expect(await keysUnder(old.prefix)).toEqual([])
    expect(await sessionRow(old.id)).toBeUndefined()
    for (const kept of [oldButOpen, endedRecently, recent]) {
      expect(await sessionRow(kept.id)).toBeDefined()
      expect((await keysUnder(kept.prefix)).length).toBeGreaterThan(0)
    }
    expect((await sessionRow(oldButOpen.id))?.status).toBe('open')
    expect(log).toHaveBeenCalledWith('retention', {
      cutoff: new Date(now - 90 * DAY_MS).toISOString(),
      sessions: 1,
      approvals: 0,
      objects: 4,
      kept: 0,
      more: false,
    })
  })

  it("removes an SSH session's terminal recordings with its transcript", async () => {
    retentionLog()
    const now = Date.now()
    const old = await recordSessionAt(now - 100 * DAY_MS, { protocol: 'ssh' })
    expect(await keysUnder(`${old.prefix}terminal-0/`)).toEqual([
      `${old.prefix}terminal-0/000000.cast`,
    ])
    await runScheduled(now, { RETENTION_DAYS: '90' })
    expect(await keysUnder(old.prefix)).toEqual([])
    expect(await sessionRow(old.id)).toBeUndefined()
  })

  it('keeps everything when RETENTION_DAYS is 0', async () => {
    retentionLog()
    const now = Date.now()
    const ancient = await recordSessionAt(now - 3_000 * DAY_MS)
    await runScheduled(now, { RETENTION_DAYS: '0' })
    expect(await sessionRow(ancient.id)).toBeDefined()
    expect(await keysUnder(ancient.prefix)).toHaveLength(3)
    await runScheduled(now, { RETENTION_DAYS: '90' })
    expect(await sessionRow(ancient.id)).toBeUndefined()
  })

  it('works through a backlog oldest first, a bounded number per run', async () => {
    const now = Date.now()
    const [first, second, third] = [
      await recordSessionAt(now - 300 * DAY_MS),
      await recordSessionAt(now - 200 * DAY_MS),
      await recordSessionAt(now - 150 * DAY_MS),
    ]
    const store = { db, bucket: env.SESSIONS, now }
    const perRun = { sessions: 2, approvals: 10 }
    expect(await runRetention(store, { days: 90, perRun })).toMatchObject({
      sessions: 2,
      more: true,
    })
    expect(await sessionRow(first.id)).toBeUndefined()
    expect(await sessionRow(second.id)).toBeUndefined()
    expect(await sessionRow(third.id)).toBeDefined()
    expect(await runRetention(store, { days: 90, perRun })).toMatchObject({
      sessions: 1,
      more: false,
    })
    expect(await sessionRow(third.id)).toBeUndefined()
    expect(await keysUnder(third.prefix)).toEqual([])
  })

  it('keeps the rows when R2 refuses the deletes (a bucket lock), logs why, and deletes on a later run', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    retentionLog()
    const now = Date.now()
    const locked = await recordSessionAt(now - 120 * DAY_MS)
    const refusing = new Proxy(env.SESSIONS, {
      get(target, property) {
        if (property === 'delete') {
          return () =>
            Promise.reject(new Error('put: Object is locked by a bucket lock rule (10069)'))
        }
        const value = Reflect.get(target, property)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })

    // The cron run itself succeeds: nothing is thrown, the log says what happened.
    await runScheduled(now, { RETENTION_DAYS: '90', SESSIONS: refusing })
    expect(await sessionRow(locked.id)).toBeDefined()
    expect(await keysUnder(locked.prefix)).toHaveLength(3)
    const [message, report] = errors.mock.calls.find(([line]) =>
      String(line).startsWith('retention: R2 refused some deletes')
    ) ?? ['', {}]
    expect(message).toContain(
      'bucket lock rule on the sessions bucket with a retention period longer than RETENTION_DAYS'
    )
    expect(report).toMatchObject({
      sessions: 0,
      kept: 1,
      error: 'put: Object is locked by a bucket lock rule (10069)',
    })

    await runScheduled(now, { RETENTION_DAYS: '90' })
    expect(await sessionRow(locked.id)).toBeUndefined()
    expect(await keysUnder(locked.prefix)).toEqual([])
  })

  it('with the audit export on, keeps old sessions until the export has delivered them', async () => {
    retentionLog()
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const now = Date.now()
    const undelivered = await recordSessionAt(now - 100 * DAY_MS)

    await runScheduled(now, { RETENTION_DAYS: '90', AUDIT_WEBHOOK_URL: sinkUrl('down', 503) })
    expect(await sessionRow(undelivered.id)).toBeDefined()

    await runScheduled(now, { RETENTION_DAYS: '90', AUDIT_WEBHOOK_URL: sinkUrl('up') })
    expect(await sessionRow(undelivered.id)).toBeUndefined()
  })
})

describe('retention of approvals', () => {
  async function approvalAt(
    id: string,
    state: string,
    requestedAt: number,
    endedAt: number | null
  ) {
    let log = EMPTY_LOG
    for (const event of [{ state: 'pending' }, { state }]) {
      log = await appendApprovalEvent(env.SESSIONS, { id, requestedAt }, log, requestedAt, event)
    }
    await db.insert(approvals).values({
      id,
      sessionId: 'none',
      commandSeq: 1,
      connectionName: 'recorded-api',
      requesterId: 'agent:recorded-agent',
      requesterName: 'recorded-agent',
      summary: 'POST /payments',
      commandHash: '0'.repeat(64),
      rule: 'payments',
      reason: 'Moving money needs a human.',
      approvers: ['group:approvers'],
      state: state as 'pending',
      requestedAt,
      expiresAt: requestedAt + 900_000,
      endedAt,
    })
    return approvalLogPrefix(id, requestedAt)
  }

  it('removes ended approvals (their R2 log and D1 row) past the cutoff, and keeps pending and newer ones', async () => {
    retentionLog()
    const now = Date.now()
    const old = now - 100 * DAY_MS
    const deniedLog = await approvalAt('a'.repeat(64), 'denied', old, old + 60_000)
    const pendingLog = await approvalAt('b'.repeat(64), 'pending', old, null)
    const recentLog = await approvalAt('c'.repeat(64), 'approved', now - DAY_MS, now - DAY_MS)
    expect(await keysUnder(deniedLog)).toHaveLength(2)

    const report = await runRetention({ db, bucket: env.SESSIONS, now }, { days: 90 })
    expect(report).toMatchObject({ approvals: 1, objects: 2, kept: 0 })
    expect(await keysUnder(deniedLog)).toEqual([])
    const left = await db.select({ id: approvals.id }).from(approvals).all()
    expect(left.map((row) => row.id).sort()).toEqual(['b'.repeat(64), 'c'.repeat(64)])
    expect(await keysUnder(pendingLog)).toHaveLength(2)
    expect(await keysUnder(recentLog)).toHaveLength(2)
  })
})

describe('RETENTION_DAYS', () => {
  const secrets = {
    ADMIN_TOKEN: 'x'.repeat(32),
    CREDENTIALS_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(1))),
  }

  it('defaults to 90 days, and takes 0 for keeping everything', () => {
    expect(loadConfig({ ...secrets }).retentionDays).toBe(90)
    expect(loadConfig({ ...secrets, RETENTION_DAYS: '0' }).retentionDays).toBe(0)
  })

  it('names a value that is not a whole number of days', () => {
    expect(() => loadConfig({ ...secrets, RETENTION_DAYS: '-1' })).toThrow(
      'Gateway configuration is invalid: RETENTION_DAYS must be a whole number of days (0: keep forever)'
    )
  })
})
