/**
 * The pause stage: a command whose decision is `require_approval` waits here for a human.
 * The gate (approvals/gate.ts) holds it on an ApprovalRequest Durable Object; it resolves
 * when the command may go on and throws a GatehouseError when it may not.
 */
import { GatehouseError } from '../errors.ts'
import type { Caller, Command, ConnectionRef, Decision } from './types.ts'

/** What the client is told while its command waits. */
export type PendingApproval = { id: string; url: string; expiresAt: number }

/** How an adapter's client can wait, chosen by the protocol. */
export type HoldOptions = {
  /** A retry names the approval it was given (HTTP `X-Gatehouse-Approval`). */
  approvalId?: string
  /** How long to hold before answering "still pending" (HTTP 202); absent: until decided. */
  waitMs?: number
  /** Tells the client where to approve (Postgres: a NoticeResponse with the link). */
  onPending?: (pending: PendingApproval) => Promise<void>
  /** Aborts when the client hangs up: the approval is cancelled. */
  signal?: AbortSignal
}

export type ApprovalRequest = {
  sessionId: string
  /** Sequence number of the command event in the session's transcript. */
  commandSeq: number
  caller: Caller
  connection: ConnectionRef
  command: Command
  /** The command as approvers see it and the approval log stores it: masked by detectors. */
  shown?: Command
  decision: Decision
  hold: HoldOptions
  /** Adds an `approval` event to the session's transcript. */
  record: (data: Record<string, unknown>) => void
}

export interface ApprovalGate {
  /** Resolves when the command is approved; throws a GatehouseError when it is not. */
  awaitApproval(request: ApprovalRequest): Promise<void>
}

/** For a gateway without the APPROVALS binding: such commands are refused, never forwarded. */
export const APPROVALS_DISABLED: ApprovalGate = {
  async awaitApproval(request) {
    throw new GatehouseError(
      'approval.required',
      `${request.decision.reason} This command needs human approval, and approvals are not enabled on this gateway, so it was not forwarded.`,
      { data: { rule: request.decision.rule?.name ?? null } }
    )
  },
}
