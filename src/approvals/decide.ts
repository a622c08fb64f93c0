/**
 * Deciding an approval, whichever way the approver came (page, API, Slack): the Durable
 * Object applies the rules and records the change; refusals are logged here, since they
 * change nothing the approval itself would record.
 */
import type { Gateway } from '../pipeline/gateway.ts'
import { approvalStub } from './approval-stub.ts'
import { REFUSAL_MESSAGES } from './decision-rules.ts'
import type { ApprovalRecord, Approver, DecideResult, DecisionChannel, Verdict } from './types.ts'

export async function decideApproval(
  gateway: Gateway,
  id: string,
  approver: Approver,
  verdict: Verdict,
  via: DecisionChannel,
  comment?: string
): Promise<DecideResult> {
  const stub = approvalStub(gateway.approvalRequests, id)
  const result: DecideResult = stub
    ? await stub.decide(approver, verdict, via, comment)
    : {
        ok: false,
        code: 'approval.not_found',
        message: REFUSAL_MESSAGES['approval.not_found'],
        record: null,
      }
  if (!result.ok) {
    console.warn('approval decision refused', {
      approval: id,
      code: result.code,
      approver: approver.id,
      proof: approver.proof,
      verdict,
      via,
    })
  }
  return result
}

/** The approval as its Durable Object holds it; null for unknown ids. */
export async function readApproval(gateway: Gateway, id: string): Promise<ApprovalRecord | null> {
  const stub = approvalStub(gateway.approvalRequests, id)
  return stub ? stub.view() : null
}
