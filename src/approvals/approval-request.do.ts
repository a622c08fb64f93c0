/**
 * `ApprovalRequest`: one Durable Object per held command, the single point of truth for
 * its approval. It stores the request, takes exactly one decision (or expires by alarm,
 * or is cancelled when the client hangs up), wakes the callers waiting on it, and lets
 * the approved command through once. Every state change is written to R2 first (the
 * approval's own hash-chained log), then stored, indexed in D1 and announced on Slack.
 */
import { DurableObject } from 'cloudflare:workers'
import { alertApprovalEnded } from '../alerts/notify.ts'
import { loadConfig } from '../config.ts'
import { openDatabase } from '../db/client.ts'
import { indexApproval } from './approval-index.ts'
import { type ApprovalLogHead, appendApprovalEvent, EMPTY_LOG } from './approval-log.ts'
import { decisionRefusal, REFUSAL_MESSAGES } from './decision-rules.ts'
import { postApprovalMessage, updateApprovalMessage } from './slack/notifier.ts'
import type {
  ApprovalInput,
  ApprovalRecord,
  Approver,
  DecideResult,
  DecisionChannel,
  Verdict,
} from './types.ts'

const RECORD_KEY = 'record'
const LOG_KEY = 'log'

/** Why a retry may not use the approval it names. */
export type ClaimRefusal =
  | 'approval.not_found'
  | 'approval.pending'
  | 'approval.denied'
  | 'approval.expired'
  | 'approval.cancelled'
  | 'approval.used'
  | 'approval.mismatch'

export type ClaimResult =
  | { ok: true; record: ApprovalRecord }
  | { ok: false; code: ClaimRefusal; record: ApprovalRecord | null }

export class ApprovalRequest extends DurableObject<Env> {
  #record: ApprovalRecord | null = null
  #log: ApprovalLogHead = EMPTY_LOG
  readonly #waiters = new Set<() => void>()
  /** State changes run one at a time: each awaits R2, and two must never both see `pending`. */
  #changing: Promise<unknown> = Promise.resolve()

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.#record = (await ctx.storage.get<ApprovalRecord>(RECORD_KEY)) ?? null
      this.#log = (await ctx.storage.get<ApprovalLogHead>(LOG_KEY)) ?? EMPTY_LOG
    })
  }

  /** Creates the approval (idempotent for the same id); throws if it cannot be recorded. */
  async open(input: ApprovalInput): Promise<ApprovalRecord> {
    return this.#exclusive(async () => {
      if (this.#record) return this.#record
      const record: ApprovalRecord = { ...input, state: 'pending' }
      await this.#commit(record, {
        state: 'pending',
        session: input.sessionId,
        commandSeq: input.commandSeq,
        requester: input.requester,
        connection: input.connection,
        command: input.command,
        commandHash: input.commandHash,
        rule: input.rule,
        reason: input.reason,
        approvers: input.approvers,
        expiresAt: new Date(input.expiresAt).toISOString(),
      })
      await this.ctx.storage.setAlarm(input.expiresAt)
      this.ctx.waitUntil(this.#announce(record))
      return record
    })
  }

  /** The approval as it stands, or null for an id never opened. */
  async view(): Promise<ApprovalRecord | null> {
    return this.#record
  }

  /**
   * Resolves once the approval is no longer pending, or after `timeoutMs` (null: no
   * limit but the expiry), with the record as it then stands.
   */
  async awaitDecision(timeoutMs: number | null): Promise<ApprovalRecord | null> {
    if (this.#record?.state !== 'pending') return this.#record
    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const wake = () => {
        if (timer !== undefined) clearTimeout(timer)
        this.#waiters.delete(wake)
        resolve()
      }
      this.#waiters.add(wake)
      if (timeoutMs !== null) timer = setTimeout(wake, timeoutMs)
    })
    return this.#record
  }

  /** One decision, final; refusals say why and change nothing. */
  async decide(
    approver: Approver,
    verdict: Verdict,
    via: DecisionChannel,
    comment?: string
  ): Promise<DecideResult> {
    return this.#exclusive(async () => {
      const record = this.#record
      if (!record) {
        return refused('approval.not_found', null)
      }
      const now = Date.now()
      const refusal = decisionRefusal(record, approver, now)
      if (refusal) {
        await this.#note(record, {
          refused: refusal,
          attempt: verdict,
          by: { id: approver.id, name: approver.name, proof: approver.proof },
          via,
        })
        return refused(refusal, record)
      }
      const decision = {
        verdict,
        by: {
          id: approver.id,
          name: approver.name,
          ...(approver.email ? { email: approver.email } : {}),
          proof: approver.proof,
        },
        via,
        at: now,
        ...(comment ? { comment } : {}),
      }
      const next: ApprovalRecord = {
        ...record,
        state: verdict === 'approve' ? 'approved' : 'denied',
        decision,
        endedAt: now,
      }
      await this.#commit(next, {
        state: next.state,
        by: decision.by,
        via,
        ...(comment ? { comment } : {}),
      })
      await this.ctx.storage.deleteAlarm()
      // A Slack decision updates its own message through response_url (slack/routes.ts).
      if (via !== 'slack') this.ctx.waitUntil(this.#announceOutcome(next))
      return { ok: true, record: next }
    })
  }

  /** Ends a pending approval nobody waits for any more (the client hung up). */
  async cancel(reason: string): Promise<ApprovalRecord | null> {
    return this.#exclusive(async () => {
      const record = this.#record
      if (record?.state !== 'pending') return record
      const next: ApprovalRecord = {
        ...record,
        state: 'cancelled',
        endedReason: reason,
        endedAt: Date.now(),
      }
      await this.#commit(next, { state: 'cancelled', reason })
      await this.ctx.storage.deleteAlarm()
      this.ctx.waitUntil(this.#announceOutcome(next))
      return next
    })
  }

  /**
   * Lets the approved command through, once: the requester must be the same and the
   * command byte-identical (same fingerprint) to the one approved.
   */
  async claim(commandHash: string, requesterId: string): Promise<ClaimResult> {
    return this.#exclusive(async () => {
      const record = this.#record
      if (!record) return { ok: false, code: 'approval.not_found', record: null }
      if (record.requester.id !== requesterId || record.commandHash !== commandHash) {
        await this.#note(record, {
          refused: 'approval.mismatch',
          attempt: 'claim',
          by: requesterId,
          commandHash,
        })
        return { ok: false, code: 'approval.mismatch', record }
      }
      if (record.state !== 'approved') {
        return { ok: false, code: `approval.${record.state}` as ClaimRefusal, record }
      }
      if (record.consumedAt !== undefined) {
        await this.#note(record, { refused: 'approval.used', attempt: 'claim', by: requesterId })
        return { ok: false, code: 'approval.used', record }
      }
      // Stored before answering, so it is used once; its evidence follows off the path.
      const next: ApprovalRecord = { ...record, consumedAt: Date.now() }
      await this.ctx.storage.put(RECORD_KEY, next)
      this.#record = next
      this.ctx.waitUntil(
        this.#exclusive(async () => {
          await indexApproval(openDatabase(this.env.DB), next).catch(() => {})
          await this.#note(next, { consumed: true })
        })
      )
      return { ok: true, record: next }
    })
  }

  /** Expiry: a pending approval past its time is refused for good. */
  override async alarm(): Promise<void> {
    await this.#exclusive(async () => {
      const record = this.#record
      if (record?.state !== 'pending') return
      const now = Date.now()
      if (now < record.expiresAt) {
        await this.ctx.storage.setAlarm(record.expiresAt)
        return
      }
      const next: ApprovalRecord = {
        ...record,
        state: 'expired',
        endedReason: 'nobody decided before it expired',
        endedAt: now,
      }
      // A failure throws, and the runtime retries the alarm.
      await this.#commit(next, { state: 'expired' })
      this.ctx.waitUntil(this.#announceOutcome(next))
    })
  }

  /** Evidence first (R2), then state, then the index; wakes waiters once stored. */
  async #commit(next: ApprovalRecord, event: Record<string, unknown>): Promise<void> {
    const at = Date.now()
    const log = await appendApprovalEvent(this.env.SESSIONS, next, this.#log, at, event)
    await this.ctx.storage.put({ [RECORD_KEY]: next, [LOG_KEY]: log })
    this.#record = next
    this.#log = log
    if (next.state !== 'pending') for (const wake of [...this.#waiters]) wake()
    if (next.state !== 'pending') this.ctx.waitUntil(alertApprovalEnded(this.env, next))
    // Off the held command's path: the DO and R2 hold the truth, the index follows.
    const indexed = indexApproval(openDatabase(this.env.DB), next).catch((cause: unknown) =>
      console.error('indexing an approval failed', { approval: next.id, cause })
    )
    if (next.state === 'pending') await indexed
    else this.ctx.waitUntil(indexed)
  }

  /** Records a refused attempt: no state change, but evidence of it. */
  async #note(record: ApprovalRecord, event: Record<string, unknown>): Promise<void> {
    try {
      this.#log = await appendApprovalEvent(this.env.SESSIONS, record, this.#log, Date.now(), {
        state: record.state,
        ...event,
      })
      await this.ctx.storage.put(LOG_KEY, this.#log)
    } catch (cause) {
      console.error('recording a refused approval attempt failed', { approval: record.id, cause })
    }
  }

  #exclusive<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#changing.catch(() => {}).then(change)
    this.#changing = run
    return run
  }

  async #announce(record: ApprovalRecord): Promise<void> {
    try {
      const slack = await postApprovalMessage(loadConfig(this.env).slack, record)
      if (!slack) return
      await this.#exclusive(async () => {
        if (!this.#record) return
        this.#record = { ...this.#record, slack }
        await this.ctx.storage.put(RECORD_KEY, this.#record)
      })
      // Decided before Slack answered: bring the message up to date at once.
      if (this.#record?.state !== 'pending' && this.#record) {
        await this.#announceOutcome(this.#record)
      }
    } catch (cause) {
      console.error('posting an approval to Slack failed', { approval: record.id, cause })
    }
  }

  async #announceOutcome(record: ApprovalRecord): Promise<void> {
    try {
      await updateApprovalMessage(loadConfig(this.env).slack, record, {})
    } catch (cause) {
      console.error('updating the Slack message failed', { approval: record.id, cause })
    }
  }
}

function refused(code: keyof typeof REFUSAL_MESSAGES, record: ApprovalRecord | null): DecideResult {
  return { ok: false, code, message: REFUSAL_MESSAGES[code], record }
}
