/**
 * Containment in the admin API: kill a live session (`POST /sessions/:id/kill`), and lock,
 * list and unlock subjects (`/locks`). Locking also kills the subject's open sessions.
 * Every action is recorded as an admin action.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { type KillResult, killSession, killSessionsOf } from '../containment/kill.ts'
import {
  getLock,
  type LockKind,
  type LockRow,
  listLocks,
  lockKindOf,
  putLock,
  removeLock,
} from '../containment/locks.ts'
import { GatehouseError } from '../errors.ts'
import type { Gateway } from '../pipeline/gateway.ts'
import { CONNECTION_NAME } from '../policy/document.ts'
import { recordAdminAction } from './audit.ts'
import { parseWith, readJson } from './body.ts'

/**
 * A lock's sweep of open sessions runs again after this long, for sessions that passed
 * their lock check just before the lock was written and were indexed just after the sweep;
 * the second sweep takes only sessions that started by the lock's time plus this margin.
 */
const LOCK_SWEEP_AGAIN_MS = 2_000

const Reason = z.string().max(500).default('')

/** What may follow each kind's `<kind>:` in a lock subject. */
const SUBJECT_VALUES: Record<LockKind, RegExp> = {
  agent: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  user: /^[^\s\p{Cc}]{1,200}$/u,
  token: /^tok_[A-Za-z0-9_-]{16}$/,
  connection: CONNECTION_NAME,
}

/** `agent:<name>`, `user:<subject or e-mail>`, `token:<id>` or `connection:<name>`. */
export const LockSubject = z.string().refine(
  (subject) => {
    const kind = lockKindOf(subject)
    return kind !== undefined && SUBJECT_VALUES[kind].test(subject.slice(kind.length + 1))
  },
  {
    message:
      'must be agent:<name>, user:<subject or e-mail>, token:<tok_… id> or connection:<name>',
  }
)

const KillBody = z.object({ reason: Reason }).strict()
const LockBody = z.object({ subject: LockSubject, reason: Reason }).strict()
const UnlockBody = z.object({ subject: LockSubject }).strict()

export const containmentRoutes = new Hono<AppEnv>()

containmentRoutes.post('/sessions/:id/kill', async (c) => {
  const { gateway, caller } = c.var
  const { reason } = await readOptionalJson(c.req.raw, KillBody)
  const sessionId = c.req.param('id')
  const result = await killSession(gateway, sessionId, { by: caller.id, reason })
  recordAdminAction(gateway, caller, c.req.raw, 'session.kill', killDetails(result))
  return c.json(result)
})

containmentRoutes.get('/locks', async (c) => {
  return c.json({ locks: await listLocks(c.var.gateway.db) })
})

containmentRoutes.post('/locks', async (c) => {
  const { gateway, caller } = c.var
  const { subject, reason } = await readJson(c.req.raw, LockBody)
  const { row, created } = await putLock(gateway.db, {
    subject,
    reason,
    lockedBy: caller.id,
    lockedAt: gateway.now(),
  })
  // Killed in the lock's own words, even when it existed already (a second sweep).
  const kill = { by: caller.id, reason: `${subject} locked: ${row.reason || 'no reason given'}` }
  const killed = await killSessionsOf(gateway, subject, kill)
  gateway.waitUntil(sweepAgain(gateway, row, kill))
  recordAdminAction(gateway, caller, c.req.raw, 'lock.create', {
    subject,
    reason: row.reason,
    created,
    killed: killed.filter((result) => result.first).map((result) => result.sessionId),
  })
  return c.json({ lock: row, created, killed }, created ? 201 : 200)
})

containmentRoutes.delete('/locks', async (c) => {
  const { gateway, caller } = c.var
  const { subject } = await readJson(c.req.raw, UnlockBody)
  const removed = await removeLock(gateway.db, subject)
  if (!removed) throw new GatehouseError('resource.not_found', `${subject} is not locked.`)
  recordAdminAction(gateway, caller, c.req.raw, 'lock.delete', {
    subject,
    lockedBy: removed.lockedBy,
    lockedAt: removed.lockedAt,
    reason: removed.reason,
  })
  return c.json({ unlocked: removed })
})

function killDetails(result: KillResult): Record<string, unknown> {
  return {
    sessionId: result.sessionId,
    reason: result.kill.reason,
    first: result.first,
    woken: result.woken,
  }
}

async function sweepAgain(
  gateway: Gateway,
  lock: LockRow,
  kill: { by: string; reason: string }
): Promise<void> {
  await scheduler.wait(LOCK_SWEEP_AGAIN_MS)
  const { subject } = lock
  try {
    // Unlocked (or locked anew) meanwhile: sessions opened since are not this lock's.
    if ((await getLock(gateway.db, subject))?.lockedAt !== lock.lockedAt) return
    const startedBy = lock.lockedAt + LOCK_SWEEP_AGAIN_MS
    const late = (await killSessionsOf(gateway, subject, kill, { startedBy })).filter(
      (result) => result.first
    )
    if (late.length > 0) {
      console.warn('a lock killed sessions indexed after its first sweep', {
        subject,
        sessions: late.map((result) => result.sessionId),
      })
    }
  } catch (cause) {
    console.error('sweeping the sessions of a lock again failed', { subject, cause })
  }
}

/** A JSON body, or `{}` when there is none (`curl -X POST …/kill`). */
async function readOptionalJson<S extends z.ZodType>(
  request: Request,
  schema: S
): Promise<z.infer<S>> {
  const text = await request.text()
  let body: unknown = {}
  if (text.trim()) {
    try {
      body = JSON.parse(text)
    } catch {
      throw new GatehouseError('request.invalid', 'The request body must be JSON.')
    }
  }
  return parseWith(schema, body, 'request.invalid', 'The request body is invalid')
}
