/**
 * Idle and lifetime limits of a tunnel, whatever it carries: one that saw no activity for
 * `idleMs` while nothing was running, or that has been open for `maxSessionMs`, is ended,
 * as servers do themselves (Postgres idle_session_timeout, sshd ClientAliveCountMax).
 */
import { GatehouseError } from '../../errors.ts'

export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000
export const DEFAULT_MAX_SESSION_MS = 12 * 60 * 60_000

export type LimitOptions = {
  idleTimeoutMs?: number | undefined
  maxSessionMs?: number | undefined
  /** When the tunnel was last active (ms). */
  lastActivity: () => number
  /** Something runs or waits (a statement, an approval): the tunnel is not idle. */
  busy: () => boolean
}

export type SessionLimits = { expired: Promise<never>; stop: () => void }

/** `expired` rejects with session.too_long or session.idle_timeout; `stop` disarms it. */
export function sessionLimits(options: LimitOptions): SessionLimits {
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const endsAt = Date.now() + (options.maxSessionMs ?? DEFAULT_MAX_SESSION_MS)
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    const check = () => {
      const now = Date.now()
      if (now >= endsAt) {
        return reject(
          new GatehouseError(
            'session.too_long',
            'This session reached its maximum duration and was ended.'
          )
        )
      }
      const busy = options.busy()
      const idleFor = now - options.lastActivity()
      if (!busy && idleFor >= idleMs) {
        return reject(
          new GatehouseError(
            'session.idle_timeout',
            `This session was idle for ${Math.round(idleFor / 1000)} s and was ended.`
          )
        )
      }
      const nextIdleCheck = busy ? idleMs : idleMs - idleFor
      timer = setTimeout(check, Math.max(100, Math.min(nextIdleCheck, endsAt - now)))
    }
    timer = setTimeout(check, Math.min(idleMs, endsAt - Date.now()))
  })
  expired.catch(() => {})
  return {
    expired,
    stop: () => {
      if (timer !== undefined) clearTimeout(timer)
    },
  }
}
