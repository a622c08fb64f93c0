/**
 * `SessionControl`: one Durable Object per live session (named by the session id), the
 * point a responder signals to end it. The session holds `watch` open, as a held command
 * holds `awaitDecision`; `kill` stores the kill before waking anyone, so a watch that
 * arrives or re-arms later (after the object was evicted, say) learns it at once. The
 * stored kill is deleted by alarm once no session could still be running.
 */
import { DurableObject } from 'cloudflare:workers'

const KILL_KEY = 'kill'

/** Longer than any session may last (a Postgres tunnel's maxSessionMs is at most 7 days). */
export const KILL_RETENTION_MS = 8 * 86_400_000

/** A kill as stored and as watchers receive it. */
export type SessionKill = {
  sessionId: string
  /** Principal id of who killed it: `admin:bootstrap`, `user:<sub>`. */
  by: string
  reason: string
  at: number
}

export type KillOutcome = {
  kill: SessionKill
  /** False when the session had been killed before; the first kill stands. */
  first: boolean
  /** Watches woken by this kill (0: nothing was listening, or it had been killed before). */
  woken: number
}

export type SessionControlState = {
  kill: SessionKill | null
  /** Watches held open right now. */
  watching: number
}

export class SessionControl extends DurableObject<Env> {
  #kill: SessionKill | null = null
  readonly #watchers = new Set<(kill: SessionKill | null) => void>()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.#kill = (await ctx.storage.get<SessionKill>(KILL_KEY)) ?? null
    })
  }

  /**
   * Resolves with the kill once the session is killed (at once if it already was), or
   * with null after `timeoutMs`, when the caller re-arms; a held call is never forgotten
   * here for longer than that, even if its caller vanished without a word.
   */
  async watch(timeoutMs: number): Promise<SessionKill | null> {
    if (this.#kill) return this.#kill
    return new Promise((resolve) => {
      const wake = (kill: SessionKill | null) => {
        clearTimeout(timer)
        this.#watchers.delete(wake)
        resolve(kill)
      }
      const timer = setTimeout(() => wake(null), timeoutMs)
      this.#watchers.add(wake)
    })
  }

  /** Kills the session: idempotent, stored before any watcher is woken. */
  async kill(input: Omit<SessionKill, 'at'>): Promise<KillOutcome> {
    if (this.#kill) return { kill: this.#kill, first: false, woken: 0 }
    const kill: SessionKill = { ...input, at: Date.now() }
    await this.ctx.storage.put(KILL_KEY, kill)
    await this.ctx.storage.setAlarm(kill.at + KILL_RETENTION_MS)
    this.#kill = kill
    const watchers = [...this.#watchers]
    for (const wake of watchers) wake(kill)
    return { kill, first: true, woken: watchers.length }
  }

  async state(): Promise<SessionControlState> {
    return { kill: this.#kill, watching: this.#watchers.size }
  }

  /** Retention over: the session's own transcript keeps the evidence of the kill. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll()
    this.#kill = null
  }
}
