/**
 * The pause stage: a command whose decision is `require_approval` waits here for a human.
 * Until approvals are enabled the gate refuses, so such a command is never forwarded.
 */
import { GatehouseError } from '../errors.ts'
import type { Caller, Command, ConnectionRef, Decision } from './types.ts'

export type ApprovalRequest = {
  sessionId: string
  /** Sequence number of the command event in the session's transcript. */
  commandSeq: number
  caller: Caller
  connection: ConnectionRef
  command: Command
  decision: Decision
}

export interface ApprovalGate {
  /** Resolves when the command is approved; throws a GatehouseError when it is not. */
  awaitApproval(request: ApprovalRequest): Promise<void>
}

export const APPROVALS_DISABLED: ApprovalGate = {
  async awaitApproval(request) {
    throw new GatehouseError(
      'approval.required',
      `${request.decision.reason} This command needs human approval, and approvals are not enabled on this gateway, so it was not forwarded.`,
      { data: { rule: request.decision.rule?.name ?? null } }
    )
  },
}
