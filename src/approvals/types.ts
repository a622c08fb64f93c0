/**
 * The vocabulary of just-in-time approval, shared by the ApprovalRequest Durable Object,
 * the pause stage, the approval page, the decision API and Slack.
 */
import type { Caller, Command, ConnectionRef } from '../pipeline/types.ts'

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled'
export type Verdict = 'approve' | 'deny'

/** Where a decision came from. */
export type DecisionChannel = 'web' | 'slack' | 'api'

/** The requester, as the approval stores it (enough to refuse self-approval). */
export type Requester = {
  id: string
  name: string
  via: Caller['via']
  email?: string
  /** The person an agent token belongs to: they may not approve their agent's commands. */
  owner?: string
}

/** Someone deciding: already authenticated, with the policy references they answer to. */
export type Approver = {
  /** `user:<sub>`, `agent:<name>`, … as in Caller.id. */
  id: string
  name: string
  email?: string
  /** What policy subjects they match right now (user:, idp:, group:, agent:). */
  principals: readonly string[]
  /** For the record: how they proved who they are (oidc session, Slack user id, token). */
  proof: string
}

/** What the pause stage asks the Durable Object to hold. */
export type ApprovalInput = {
  id: string
  sessionId: string
  commandSeq: number
  requester: Requester
  connection: ConnectionRef
  command: Command
  /** SHA-256 (hex) of the command's fingerprint; a retry must match it byte for byte. */
  commandHash: string
  /** One line a person can read in Slack: `POST /payments` or the SQL text, truncated. */
  summary: string
  rule: string | null
  reason: string
  /** Policy subjects whose members may decide. */
  approvers: readonly string[]
  requestedAt: number
  expiresAt: number
  /** Absolute URL of the approval page. */
  url: string
}

export type ApprovalDecision = {
  verdict: Verdict
  by: { id: string; name: string; email?: string; proof: string }
  via: DecisionChannel
  at: number
  comment?: string
}

/** An approval as stored by its Durable Object and shown to approvers. */
export type ApprovalRecord = ApprovalInput & {
  state: ApprovalState
  decision?: ApprovalDecision
  /** Why it ended without a decision (expired, the client hung up, …). */
  endedReason?: string
  endedAt?: number
  /** When the approved command was forwarded (at most once). */
  consumedAt?: number
  /** Where the Slack message lives, so it can be updated with the outcome. */
  slack?: SlackMessageRef
}

export type SlackMessageRef = { kind: 'bot'; channel: string; ts: string } | { kind: 'webhook' }

/** The refusals a decision can meet; each is final for that attempt and recorded. */
export type DecideRefusal =
  | 'approval.not_found'
  | 'approval.already_decided'
  | 'approval.expired'
  | 'approval.self_approval'
  | 'approval.not_an_approver'

export type DecideResult =
  | { ok: true; record: ApprovalRecord }
  | { ok: false; code: DecideRefusal; message: string; record: ApprovalRecord | null }
