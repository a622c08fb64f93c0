/**
 * Who may decide an approval, as one pure check: no I/O, the clock passed in. The
 * Durable Object applies it to every decision; the approval page uses it to know
 * whether to offer the buttons at all.
 */
import type { ApprovalRecord, Approver, DecideRefusal, Requester } from './types.ts'

export const REFUSAL_MESSAGES: Record<DecideRefusal, string> = {
  'approval.not_found': 'There is no such approval request.',
  'approval.already_decided': 'This request has already been decided; decisions are final.',
  'approval.expired': 'This request expired before it was decided.',
  'approval.self_approval': 'You cannot decide a request you (or your agent) made.',
  'approval.not_an_approver': 'You are not one of the approvers this request names.',
}

/** Why `approver` may not decide `record` now, or null when they may. */
export function decisionRefusal(
  record: ApprovalRecord,
  approver: Approver,
  now: number
): DecideRefusal | null {
  if (record.state === 'expired') return 'approval.expired'
  if (record.state !== 'pending') return 'approval.already_decided'
  if (now >= record.expiresAt) return 'approval.expired'
  if (isRequester(record.requester, approver)) return 'approval.self_approval'
  if (!record.approvers.some((subject) => approver.principals.includes(subject)))
    return 'approval.not_an_approver'
  return null
}

/**
 * The same person under any of their names: the caller itself, or the owner of the
 * agent token that made the request (recorded as a name or an e-mail).
 */
function isRequester(requester: Requester, approver: Approver): boolean {
  const approverNames = new Set(
    [approver.id, approver.name, approver.email, approver.email && `user:${approver.email}`]
      .filter((name): name is string => Boolean(name))
      .map((name) => name.toLowerCase())
  )
  const requesterNames = [
    requester.id,
    requester.email,
    requester.email && `user:${requester.email}`,
    requester.owner,
    requester.owner && `user:${requester.owner}`,
  ]
  if (requester.via !== 'agent_token') requesterNames.push(requester.name)
  return requesterNames.some((name) => name !== undefined && approverNames.has(name.toLowerCase()))
}
