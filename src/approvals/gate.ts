/**
 * The pause stage's real gate: a held command gets its own ApprovalRequest Durable
 * Object and waits on it. Approved → the command goes on (once); denied, expired or
 * cancelled → refused; still pending after the caller's wait → `approval.pending`
 * (HTTP 202) with the id, which a byte-identical retry may then claim.
 */
import { GatehouseError } from '../errors.ts'
import type { ApprovalGate, ApprovalRequest as HeldCommand } from '../pipeline/pause.ts'
import type { ApprovalRequest, ClaimResult } from './approval-request.do.ts'
import { approvalStub, newApprovalId } from './approval-stub.ts'
import { commandHash, commandSummary } from './fingerprint.ts'
import type { ApprovalInput, ApprovalRecord } from './types.ts'

export type ApprovalGateDeps = {
  namespace: DurableObjectNamespace<ApprovalRequest>
  /** Base of approval links, e.g. https://gatehouse.example.com */
  publicUrl: string
  defaultTtlSeconds: number
  now: () => number
}

export class DurableApprovalGate implements ApprovalGate {
  readonly #deps: ApprovalGateDeps

  constructor(deps: ApprovalGateDeps) {
    this.#deps = deps
  }

  async awaitApproval(held: HeldCommand): Promise<void> {
    const { command } = held
    if (command.kind === 'http' && command.body?.streamed) {
      throw new GatehouseError(
        'approval.body_too_large',
        'This request needs approval, and its body is too large to be held for review; send a smaller body (see INLINE_BODY_BYTES).'
      )
    }
    const hash = await commandHash(command)
    const retryOf = held.hold.approvalId
    if (retryOf) return this.#retry(held, retryOf, hash)

    const { namespace, now, publicUrl } = this.#deps
    const id = newApprovalId(namespace)
    const stub = approvalStub(namespace, id)
    if (!stub) throw new Error('a fresh approval id did not resolve')
    const requestedAt = now()
    const ttlSeconds = held.decision.expiresAfterSeconds ?? this.#deps.defaultTtlSeconds
    const input: ApprovalInput = {
      id,
      sessionId: held.sessionId,
      commandSeq: held.commandSeq,
      requester: {
        id: held.caller.id,
        name: held.caller.name,
        via: held.caller.via,
        ...(held.caller.email ? { email: held.caller.email } : {}),
        ...(held.caller.owner ? { owner: held.caller.owner } : {}),
      },
      connection: held.connection,
      // The fingerprint covers what was sent; people and the log see it masked.
      command: held.shown ?? command,
      commandHash: hash,
      summary: commandSummary(held.shown ?? command),
      rule: held.decision.rule?.name ?? null,
      reason: held.decision.reason,
      approvers: held.decision.approvers ?? [],
      requestedAt,
      expiresAt: requestedAt + ttlSeconds * 1000,
      url: `${publicUrl}/approvals/${id}`,
    }
    try {
      await stub.open(input)
    } catch (error) {
      throw new GatehouseError(
        'approval.unavailable',
        'The approval request could not be recorded, so the command was not forwarded. Try again shortly.',
        { detail: error instanceof Error ? error.message : String(error), cause: error }
      )
    }
    const pending = { id, url: input.url, expiresAt: input.expiresAt }
    held.record({
      approval: id,
      state: 'pending',
      url: input.url,
      approvers: input.approvers,
      expiresAt: new Date(input.expiresAt).toISOString(),
    })
    await held.hold.onPending?.(pending)
    await this.#wait(held, stub, hash, pending)
  }

  /** Holds until decided or the caller's wait is over, then claims or refuses. */
  async #wait(
    held: HeldCommand,
    stub: DurableObjectStub<ApprovalRequest>,
    hash: string,
    pending: { id: string; url: string; expiresAt: number }
  ): Promise<void> {
    const { signal, waitMs } = held.hold
    const hangUp = () => {
      // A kill aborts with a reason of its own; a hang-up with none worth showing.
      const reason =
        signal?.reason instanceof GatehouseError ? signal.reason.message : 'the client hung up'
      held.record({ approval: pending.id, state: 'cancelled', reason })
      stub.cancel(reason).catch(() => {})
    }
    if (signal?.aborted) return hangUp()
    signal?.addEventListener('abort', hangUp, { once: true })
    let record: ApprovalRecord | null
    try {
      record = await stub.awaitDecision(waitMs ?? null)
    } finally {
      signal?.removeEventListener('abort', hangUp)
    }
    if (!record || record.state === 'pending') {
      held.record({ approval: pending.id, state: 'pending', answered: 'still pending' })
      throw stillPending(pending)
    }
    if (record.state !== 'approved') throw this.#ended(held, record)
    const claim = await stub.claim(hash, held.caller.id)
    this.#claimed(held, pending.id, claim)
  }

  /** A retry naming an approval: it may wait for it again, then claim it once. */
  async #retry(held: HeldCommand, id: string, hash: string): Promise<void> {
    const stub = approvalStub(this.#deps.namespace, id)
    const record = stub ? await stub.view() : null
    if (!stub || !record || record.requester.id !== held.caller.id) {
      held.record({ approval: id, refused: 'approval.not_found' })
      throw new GatehouseError(
        'approval.not_found',
        'No approval with this id was requested by you.'
      )
    }
    if (record.commandHash !== hash) {
      const claim = await stub.claim(hash, held.caller.id)
      this.#claimed(held, id, claim)
      return
    }
    if (record.state === 'pending') {
      held.record({ approval: id, state: 'pending', retry: true })
      return this.#wait(held, stub, hash, { id, url: record.url, expiresAt: record.expiresAt })
    }
    if (record.state !== 'approved') throw this.#ended(held, record)
    this.#claimed(held, id, await stub.claim(hash, held.caller.id))
  }

  #claimed(held: HeldCommand, id: string, claim: ClaimResult): void {
    if (claim.ok) {
      const decision = claim.record.decision
      held.record({
        approval: id,
        state: 'approved',
        by: decision?.by,
        via: decision?.via,
        ...(decision?.comment ? { comment: decision.comment } : {}),
      })
      return
    }
    held.record({ approval: id, refused: claim.code })
    switch (claim.code) {
      case 'approval.mismatch':
        throw new GatehouseError(
          'approval.mismatch',
          'This approval covers a different command; only the exact command that was approved may use it.'
        )
      case 'approval.used':
        throw new GatehouseError(
          'approval.used',
          'This approval has already been used; an approval lets its command through once.'
        )
      default:
        if (claim.record) throw this.#ended(held, claim.record)
        throw new GatehouseError('approval.not_found', 'No such approval.')
    }
  }

  #ended(held: HeldCommand, record: ApprovalRecord): GatehouseError {
    const data = { approvalId: record.id, state: record.state }
    switch (record.state) {
      case 'denied': {
        const by = record.decision?.by.name ?? 'an approver'
        const comment = record.decision?.comment ? `: ${record.decision.comment}` : '.'
        held.record({ approval: record.id, state: 'denied', by: record.decision?.by })
        return new GatehouseError('approval.denied', `Denied by ${by}${comment}`, { data })
      }
      case 'expired':
        held.record({ approval: record.id, state: 'expired' })
        return new GatehouseError(
          'approval.expired',
          'Nobody approved this command before the request expired, so it was not forwarded.',
          { data }
        )
      case 'cancelled':
        held.record({ approval: record.id, state: 'cancelled' })
        return new GatehouseError(
          'approval.cancelled',
          `This approval request was cancelled (${record.endedReason ?? 'no reason'}).`,
          { data }
        )
      default:
        return stillPending({ id: record.id, url: record.url, expiresAt: record.expiresAt })
    }
  }
}

function stillPending(pending: { id: string; url: string; expiresAt: number }): GatehouseError {
  return new GatehouseError(
    'approval.pending',
    `This command is waiting for approval at ${pending.url}. Send the same request again with the header "X-Gatehouse-Approval: ${pending.id}" once it is approved.`,
    {
      data: {
        approvalId: pending.id,
        url: pending.url,
        expiresAt: new Date(pending.expiresAt).toISOString(),
      },
    }
  )
}
