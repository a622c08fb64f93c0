/**
 * The approval page: who asks to run what, where, under which rule, until when; what
 * became of it; and the decision form when (and only when) the viewer may decide.
 */
import { REFUSAL_MESSAGES } from '../decision-rules.ts'
import type { ApprovalRecord, DecideRefusal, Verdict } from '../types.ts'
import { CommandView } from './command-view.tsx'
import { Layout, type Viewer } from './layout.tsx'

/** Longest comment an approver may leave with a decision. */
export const MAX_COMMENT_CHARS = 500

export type ApprovalViewProps = {
  record: ApprovalRecord
  viewer: Viewer
  /** Why the viewer may not decide; null shows the buttons. */
  refusal: DecideRefusal | null
  /** From `?intent=`: which button has focus. It decides nothing. */
  intent?: Verdict | undefined
  /** After a POST: what happened to the viewer's decision. */
  outcome?: { ok: true } | { ok: false; code: string; message: string } | undefined
}

export function ApprovalView(props: ApprovalViewProps) {
  const { record } = props
  return (
    <Layout title={`Approval: ${record.summary}`} viewer={props.viewer}>
      <h1>
        Approval request <span class={`state ${record.state}`}>{record.state}</span>
      </h1>
      {props.outcome ? <OutcomeNote outcome={props.outcome} record={record} /> : null}
      <dl>
        <dt>Requested by</dt>
        <dd>
          {record.requester.name}
          {record.requester.email ? ` <${record.requester.email}>` : ''}{' '}
          <span class="muted">
            ({record.requester.id}, via {record.requester.via}
            {record.requester.owner ? `, owned by ${record.requester.owner}` : ''})
          </span>
        </dd>
        <dt>Connection</dt>
        <dd>
          {record.connection.name} <span class="muted">({record.connection.kind})</span>
        </dd>
        <dt>Rule</dt>
        <dd>{record.rule ?? <span class="muted">connection default</span>}</dd>
        <dt>Reason</dt>
        <dd>{record.reason}</dd>
        <dt>Approvers</dt>
        <dd>{record.approvers.join(', ')}</dd>
        <dt>Requested</dt>
        <dd>{utc(record.requestedAt)}</dd>
        <dt>Expires</dt>
        <dd>{utc(record.expiresAt)}</dd>
        <dt>Session</dt>
        <dd>
          <code>{record.sessionId}</code> <span class="muted">command #{record.commandSeq}</span>
        </dd>
      </dl>
      <CommandView command={record.command} />
      <DecisionSection {...props} />
    </Layout>
  )
}

function DecisionSection(props: ApprovalViewProps) {
  const { record } = props
  return (
    <section>
      <h2>Decision</h2>
      {record.decision ? (
        <p>
          {record.decision.verdict === 'approve' ? 'Approved' : 'Denied'} by{' '}
          {record.decision.by.name}
          {record.decision.by.email ? ` <${record.decision.by.email}>` : ''} via{' '}
          {record.decision.via} at {utc(record.decision.at)}
          {record.decision.comment ? `: “${record.decision.comment}”` : '.'}
        </p>
      ) : record.state !== 'pending' ? (
        <p>
          Ended without a decision ({record.state}
          {record.endedReason ? `: ${record.endedReason}` : ''})
          {record.endedAt ? ` at ${utc(record.endedAt)}` : ''}.
        </p>
      ) : null}
      {record.consumedAt ? <p class="muted">Forwarded at {utc(record.consumedAt)}.</p> : null}
      {props.refusal === null ? (
        <DecisionForm record={record} viewer={props.viewer} intent={props.intent} />
      ) : record.state === 'pending' || props.refusal !== 'approval.already_decided' ? (
        <p class="note">{REFUSAL_MESSAGES[props.refusal]}</p>
      ) : null}
    </section>
  )
}

function DecisionForm(props: {
  record: ApprovalRecord
  viewer: Viewer
  intent?: Verdict | undefined
}) {
  return (
    <form method="post" action={`/approvals/${props.record.id}`}>
      <input type="hidden" name="csrf" value={props.viewer.csrf} />
      <label for="comment">Comment (optional)</label>
      <textarea id="comment" name="comment" maxlength={MAX_COMMENT_CHARS} />
      <div class="actions">
        <button
          class="approve"
          type="submit"
          name="verdict"
          value="approve"
          autofocus={props.intent === 'approve'}
        >
          Approve
        </button>
        <button
          class="deny"
          type="submit"
          name="verdict"
          value="deny"
          autofocus={props.intent === 'deny'}
        >
          Deny
        </button>
      </div>
    </form>
  )
}

function OutcomeNote(props: {
  outcome: NonNullable<ApprovalViewProps['outcome']>
  record: ApprovalRecord
}) {
  if (props.outcome.ok) {
    const verdict = props.record.decision?.verdict === 'deny' ? 'denied' : 'approved'
    return <p class="note ok">You {verdict} this request.</p>
  }
  return (
    <p class="note bad">
      {props.outcome.message} <span class="muted">({props.outcome.code})</span>
    </p>
  )
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`
}
