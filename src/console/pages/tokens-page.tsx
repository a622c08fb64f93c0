/** Agent tokens: who holds which, their state, and a revoke button for each live one. */
import type { AgentTokenView } from '../../identity/agent-token-store.ts'
import type { ConsoleUser } from '../access.ts'
import { utc } from './format.ts'
import { ConsoleLayout, Note } from './layout.tsx'

export function TokensPage(props: {
  user: ConsoleUser
  tokens: AgentTokenView[]
  /** Whether revoked tokens are listed too. */
  all: boolean
  notice?: { tone: 'ok' | 'bad'; text: string } | undefined
}) {
  return (
    <ConsoleLayout title="Agent tokens" user={props.user} section="/ui/tokens">
      <h1>Agent tokens</h1>
      {props.notice ? <Note tone={props.notice.tone}>{props.notice.text}</Note> : null}
      <p>
        {props.all ? (
          <a href="/ui/tokens">Hide revoked tokens</a>
        ) : (
          <a href="/ui/tokens?all=1">Show revoked tokens too</a>
        )}
      </p>
      {props.tokens.length ? (
        <table class="list">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Token</th>
              <th>Owner</th>
              <th>Connections</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.tokens.map((token) => (
              <tr>
                <td>
                  <a href={`/ui/sessions?caller=${encodeURIComponent(`agent:${token.name}`)}`}>
                    {token.name}
                  </a>
                </td>
                <td>
                  <code>{token.id}</code> <span class="muted">{token.tokenHint}…</span>
                </td>
                <td>{token.owner}</td>
                <td class="wrap">{token.connections.join(', ')}</td>
                <td>{utc(token.createdAt)}</td>
                <td>{utc(token.expiresAt)}</td>
                <td>{token.lastUsedAt === null ? 'never' : utc(token.lastUsedAt)}</td>
                <td>
                  {token.status}
                  {token.revokedBy ? <span class="muted"> by {token.revokedBy}</span> : null}
                </td>
                <td>
                  {token.status === 'active' ? (
                    <form class="inline" method="post" action={`/ui/tokens/${token.id}/revoke`}>
                      <input type="hidden" name="csrf" value={props.user.session.csrf} />
                      <button class="danger" type="submit">
                        Revoke
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No agent tokens.</p>
      )}
    </ConsoleLayout>
  )
}
