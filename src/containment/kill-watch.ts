/**
 * A live session's side of the kill switch: it holds a `watch` on its SessionControl
 * object and turns a kill into an AbortSignal. A watch that fails (the object was evicted
 * or reset, the network hiccuped) is re-armed, never taken for a kill: the stored kill
 * answers the next watch at once if one happened meanwhile.
 */
import { GatehouseError } from '../errors.ts'
import type { SessionControl, SessionKill } from './session-control.do.ts'

/** How long one watch is held before it is re-armed. */
const WATCH_MS = 5 * 60_000
/** Backoff between failed watches. */
const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2_000

/** The outward words match Postgres's own (57P01); who and why stay in the detail. */
export const KILLED_MESSAGE = 'terminating connection due to administrator command'

export type KillWatch = {
  /** Aborts with a SessionKilled error (`session.killed`) when the session is killed. */
  signal: AbortSignal
  /** Stops re-arming; a watch still held just runs out. */
  stop: () => void
}

/** The stub of a session's SessionControl object. */
export function sessionControl(
  namespace: DurableObjectNamespace<SessionControl>,
  sessionId: string
): DurableObjectStub<SessionControl> {
  return namespace.get(namespace.idFromName(sessionId))
}

/** The error a killed session ends with; `kill` says who and why, for the transcript. */
export class SessionKilled extends GatehouseError {
  readonly kill: SessionKill
  constructor(kill: SessionKill) {
    super('session.killed', `${KILLED_MESSAGE}.`, {
      detail: `killed by ${kill.by}: ${kill.reason || 'no reason given'}`,
      data: { killedAt: new Date(kill.at).toISOString() },
    })
    this.kill = kill
  }
}

/** Starts watching; the signal aborts when the session is killed. */
export function watchForKill(
  namespace: DurableObjectNamespace<SessionControl>,
  sessionId: string
): KillWatch {
  const controller = new AbortController()
  let stopped = false
  const run = async () => {
    let retryMs = RETRY_MIN_MS
    while (!stopped) {
      try {
        // A fresh stub each time: one that saw its object reset stays broken.
        const kill = await sessionControl(namespace, sessionId).watch(WATCH_MS)
        retryMs = RETRY_MIN_MS
        if (kill && !stopped) controller.abort(new SessionKilled(kill))
        if (kill) return
      } catch (cause) {
        if (stopped) return
        console.warn('watching for a session kill failed; watching again', {
          session: sessionId,
          cause: cause instanceof Error ? cause.message : String(cause),
        })
        await scheduler.wait(retryMs)
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
      }
    }
  }
  void run()
  return {
    signal: controller.signal,
    stop: () => {
      stopped = true
    },
  }
}
