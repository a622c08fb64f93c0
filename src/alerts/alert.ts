/**
 * What an alert says: one flat JSON object per event a responder should hear about at
 * once (a blocked command, a denied or expired approval, a killed session), with a link
 * to the session's replay. Pure builders: no I/O, the time is always passed in.
 */

/** The events that can raise an alert; `ALERT_EVENTS` picks among them. */
export const ALERT_TYPES = [
  'command.blocked',
  'approval.denied',
  'approval.expired',
  'session.killed',
] as const

export type AlertType = (typeof ALERT_TYPES)[number]

/** The alert as webhooks receive it (JSON) and Slack shows it. */
export type Alert = {
  type: AlertType
  /** ISO time of the event. */
  at: string
  session: string | null
  connection: string | null
  /** Whose command or session it was. */
  caller: { id: string; name: string } | null
  rule: string | null
  /** What happened, in words a person can act on. */
  reason: string
  /** `<publicUrl>/ui/sessions/<session>`, the replay. */
  link: string | null
  /** The approval id, for approval events. */
  approval: string | null
  /** Who denied the approval or killed the session. */
  by: string | null
}

/** The replay page of a session in the web console. */
export function replayLink(publicUrl: string, sessionId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/ui/sessions/${encodeURIComponent(sessionId)}`
}

/** A command the policy (or an adapter's check) refused before anything was forwarded. */
export function commandBlockedAlert(input: {
  at: number
  publicUrl: string
  sessionId: string
  connection: string
  caller: { id: string; name: string }
  rule: string | null
  reason: string
}): Alert {
  return {
    type: 'command.blocked',
    at: new Date(input.at).toISOString(),
    session: input.sessionId,
    connection: input.connection,
    caller: { id: input.caller.id, name: input.caller.name },
    rule: input.rule,
    reason: input.reason,
    link: replayLink(input.publicUrl, input.sessionId),
    approval: null,
    by: null,
  }
}

/** The parts of an ended approval an alert needs (ApprovalRecord fits). */
export type EndedApproval = {
  id: string
  sessionId: string
  connection: { name: string }
  requester: { id: string; name: string }
  rule: string | null
  state: string
  decision?: { by: { id: string; name: string }; comment?: string; at: number }
  endedReason?: string
  endedAt?: number
}

/** A denied or expired approval; null for any other state (approved, cancelled, pending). */
export function approvalEndedAlert(
  record: EndedApproval,
  publicUrl: string,
  now: number
): Alert | null {
  if (record.state !== 'denied' && record.state !== 'expired') return null
  const denied = record.state === 'denied'
  const by = denied ? (record.decision?.by ?? null) : null
  const comment = record.decision?.comment
  const reason = denied
    ? `Denied by ${by?.name ?? 'an approver'}${comment ? `: ${comment}` : '.'}`
    : 'Nobody decided before the approval expired.'
  return {
    type: denied ? 'approval.denied' : 'approval.expired',
    at: new Date(record.endedAt ?? record.decision?.at ?? now).toISOString(),
    session: record.sessionId,
    connection: record.connection.name,
    caller: { id: record.requester.id, name: record.requester.name },
    rule: record.rule,
    reason,
    link: replayLink(publicUrl, record.sessionId),
    approval: record.id,
    by: by?.id ?? null,
  }
}

/** A live session a responder killed. */
export function sessionKilledAlert(input: {
  at: number
  publicUrl: string
  sessionId: string
  connection: string | null
  caller: { id: string; name: string } | null
  by: string
  reason: string
}): Alert {
  return {
    type: 'session.killed',
    at: new Date(input.at).toISOString(),
    session: input.sessionId,
    connection: input.connection,
    caller: input.caller,
    rule: null,
    reason: input.reason,
    link: replayLink(input.publicUrl, input.sessionId),
    approval: null,
    by: input.by,
  }
}
