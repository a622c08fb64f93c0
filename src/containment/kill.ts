/**
 * Killing live sessions: one by id (the console's and the admin API's kill switch), or
 * every open session of a subject that has just been locked. The kill goes to the
 * session's SessionControl object; the session itself ends within moments (a tunnel
 * closes, a held command is refused) and records the kill in its own transcript.
 */
import { and, eq, lte, ne, type SQL } from 'drizzle-orm'
import { alertSessionKilled } from '../alerts/notify.ts'
import { sessions } from '../db/schema.ts'
import { GatehouseError } from '../errors.ts'
import type { Gateway } from '../pipeline/gateway.ts'
import { sessionControl } from './kill-watch.ts'
import { lockKindOf } from './locks.ts'
import type { SessionKill } from './session-control.do.ts'

/** Open sessions one lock kills at most (the rest end at their next command's lock check). */
const MAX_KILLS_PER_LOCK = 500

/** Session ids as the recorder mints them (UUIDv7 layout). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

export type KillRequest = {
  /** Principal id of who kills it: `admin:bootstrap`, `user:<sub>`. */
  by: string
  reason: string
}

export type KillResult = {
  sessionId: string
  /** False when it had been killed before: that kill (its time, author, reason) stands. */
  first: boolean
  kill: SessionKill
  /** Live watches woken: 0 means nothing was listening (it ended already, or between commands). */
  woken: number
}

/**
 * Kills a session by id: idempotent, stored in the session's SessionControl object before
 * any watcher wakes. Refuses ids the index does not know (404) and sessions that have
 * ended (409). Does not record who asked: callers record the admin action
 * (`recordAdminAction(…, 'session.kill', result)`), as the admin API does.
 */
export async function killSession(
  gateway: Gateway,
  sessionId: string,
  { by, reason }: KillRequest
): Promise<KillResult> {
  const row = SESSION_ID.test(sessionId)
    ? await gateway.db
        .select({ status: sessions.status })
        .from(sessions)
        .where(eq(sessions.id, sessionId))
        .get()
    : undefined
  if (!row) throw new GatehouseError('resource.not_found', `No session with id "${sessionId}".`)
  if (row.status === 'closed') {
    throw new GatehouseError('resource.conflict', `Session ${sessionId} has already ended.`)
  }
  return signalKill(gateway, sessionId, { by, reason })
}

/**
 * Kills every open session of a lock subject (`agent:`, `user:`, `token:`, `connection:`),
 * found through the session index. A `user:` lock finds sessions by subject, not e-mail
 * (the index keeps the subject only); those by e-mail are refused from their next session on.
 * `startedBy` limits it to sessions that started by then.
 */
export async function killSessionsOf(
  gateway: Gateway,
  subject: string,
  request: KillRequest,
  options: { startedBy?: number } = {}
): Promise<KillResult[]> {
  const match = openSessionsMatch(subject)
  if (!match) return []
  const started =
    options.startedBy === undefined ? undefined : lte(sessions.startedAt, options.startedBy)
  const rows = await gateway.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.status, 'open'), ne(sessions.protocol, 'admin'), match, started))
    .limit(MAX_KILLS_PER_LOCK)
    .all()
  const settled = await Promise.allSettled(rows.map((row) => signalKill(gateway, row.id, request)))
  const killed: KillResult[] = []
  for (const [index, result] of settled.entries()) {
    if (result.status === 'fulfilled') killed.push(result.value)
    else
      console.error('killing a session of a locked subject failed', {
        subject,
        session: rows[index]?.id,
        cause: String(result.reason),
      })
  }
  return killed
}

async function signalKill(
  gateway: Gateway,
  sessionId: string,
  { by, reason }: KillRequest
): Promise<KillResult> {
  const outcome = await sessionControl(gateway.sessionControls, sessionId).kill({
    sessionId,
    by,
    reason,
  })
  // Responders hear of the first kill only; a repeated kill changes nothing.
  if (outcome.first) alertSessionKilled(gateway, { sessionId, by, reason })
  return { sessionId, ...outcome }
}

function openSessionsMatch(subject: string): SQL | undefined {
  const value = subject.slice(subject.indexOf(':') + 1)
  switch (lockKindOf(subject)) {
    case 'agent':
    case 'user':
      return eq(sessions.callerId, subject)
    case 'token':
      return eq(sessions.tokenId, value)
    case 'connection':
      return eq(sessions.connectionName, value)
    default:
      return undefined
  }
}
