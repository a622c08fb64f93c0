/** The approvals inbox: what waits for a decision now, and what was decided lately. */
import type { approvals } from '../../db/schema.ts'
import type { ConsoleUser } from '../access.ts'
import { utc } from './format.ts'
import { ConsoleLayout } from './layout.tsx'

type ApprovalRow = typeof approvals.$inferSelect

export function ApprovalsPage(props: {
  user: ConsoleUser
  pending: ApprovalRow[]
  recent: ApprovalRow[]
}) {
  return (
    <ConsoleLayout title="Approvals" user={props.user} section="/ui/approvals">
      <h1>Approvals</h1>
      <h2>Waiting for a decision</h2>
      {props.pending.length ? (
        <ApprovalTable rows={props.pending} />
      ) : (
        <p class="muted">Nothing is waiting for approval.</p>
      )}
      <h2>Recently ended</h2>
      {props.recent.length ? (
        <ApprovalTable rows={props.recent} />
      ) : (
        <p class="muted">No approvals yet.</p>
      )}
    </ConsoleLayout>
  )
}

function ApprovalTable(props: { rows: ApprovalRow[] }) {
  return (
    <table class="list">
      <thead>
        <tr>
          <th>Requested</th>
          <th>Requester</th>
          <th>Connection</th>
          <th>Command</th>
          <th>Rule</th>
          <th>State</th>
          <th>Expires / decided</th>
          <th>Session</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr>
            <td>
              <a href={`/approvals/${row.id}`}>{utc(row.requestedAt)}</a>
            </td>
            <td>{row.requesterId}</td>
            <td>{row.connectionName}</td>
            <td class="wrap">
              <code>{row.summary}</code>
            </td>
            <td>{row.rule ?? <span class="muted">default</span>}</td>
            <td>{row.state}</td>
            <td>
              {row.state === 'pending'
                ? utc(row.expiresAt)
                : `${row.decidedBy ?? ''}${row.decidedVia ? ` via ${row.decidedVia}` : ''}`}
            </td>
            <td>
              <a href={`/ui/sessions/${row.sessionId}#e${row.commandSeq}`}>session</a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
