/** The policy in force, read-only: its version, who applied it, each connection's rules, the source. */
import type { policyVersions } from '../../db/schema.ts'
import type { PolicyDocument } from '../../policy/document.ts'
import type { ConsoleUser } from '../access.ts'
import { utc } from './format.ts'
import { ConsoleLayout } from './layout.tsx'

export function PolicyPage(props: {
  user: ConsoleUser
  policy: (typeof policyVersions.$inferSelect & { document: PolicyDocument }) | undefined
}) {
  const { policy } = props
  return (
    <ConsoleLayout title="Policy" user={props.user} section="/ui/policy">
      <h1>Policy</h1>
      <p class="muted">Read-only. Policy is applied as code through the admin API or the CLI.</p>
      {policy ? (
        <>
          <dl>
            <dt>Version</dt>
            <dd>{policy.version}</dd>
            <dt>Applied</dt>
            <dd>
              {utc(policy.appliedAt)} by {policy.appliedBy}
              {policy.comment ? ` — “${policy.comment}”` : ''}
            </dd>
            <dt>SHA-256</dt>
            <dd>
              <code>{policy.sha256}</code>
            </dd>
          </dl>
          {Object.entries(policy.document.connections).map(([name, connection]) => (
            <section>
              <h2>{name}</h2>
              <p>
                Granted to {connection.grants.join(', ') || 'nobody'}; default{' '}
                <strong>{connection.default}</strong>
                {connection.masking ? '; masked' : ''}.
              </p>
              {connection.rules.length ? (
                <table class="list">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>Rule</th>
                      <th>Action</th>
                      <th>Who</th>
                      <th>Match</th>
                      <th>Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {connection.rules.map((rule, index) => (
                      <tr>
                        <td>{index + 1}</td>
                        <td>{rule.name}</td>
                        <td>{rule.action}</td>
                        <td class="wrap">{rule.who?.join(', ') ?? 'anyone granted'}</td>
                        <td class="wrap">
                          <code>{rule.match ? JSON.stringify(rule.match) : 'everything'}</code>
                        </td>
                        <td class="wrap">{rule.reason ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
            </section>
          ))}
          <h2>Source ({policy.format})</h2>
          <pre>{policy.source}</pre>
        </>
      ) : (
        <p class="muted">No policy has been applied yet, so nobody can use any connection.</p>
      )}
    </ConsoleLayout>
  )
}
