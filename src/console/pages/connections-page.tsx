/** Connections, read-only: where each one goes, never its credential. */
import type { ConnectionView } from '../../connections/store.ts'
import type { ConsoleUser } from '../access.ts'
import { utc } from './format.ts'
import { ConsoleLayout } from './layout.tsx'

export function ConnectionsPage(props: { user: ConsoleUser; connections: ConnectionView[] }) {
  return (
    <ConsoleLayout title="Connections" user={props.user} section="/ui/connections">
      <h1>Connections</h1>
      <p class="muted">Read-only. Connections are changed through the admin API or the CLI.</p>
      {props.connections.length ? (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Target</th>
              <th>Credential</th>
              <th>Description</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {props.connections.map((connection) => (
              <tr>
                <td>
                  <a href={`/ui/sessions?connection=${encodeURIComponent(connection.name)}`}>
                    {connection.name}
                  </a>
                </td>
                <td>{connection.kind}</td>
                <td class="wrap">
                  <code>{targetLine(connection.kind, connection.target)}</code>
                </td>
                <td>{connection.hasCredential ? 'stored (sealed)' : 'none'}</td>
                <td class="wrap">{connection.description}</td>
                <td>{utc(connection.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No connections are registered.</p>
      )}
    </ConsoleLayout>
  )
}

/**
 * Where a connection goes, in one line. An HTTP URL loses any user and password it was
 * given, so nothing secret-looking reaches the page.
 */
export function targetLine(kind: string, target: unknown): string {
  if (typeof target !== 'object' || target === null) return kind
  const fields = target as Record<string, unknown>
  if (kind === 'http' && typeof fields.url === 'string') {
    try {
      const url = new URL(fields.url)
      url.username = ''
      url.password = ''
      return url.href
    } catch {
      return 'invalid URL'
    }
  }
  if (kind === 'postgres') {
    const tls = fields.tls === 'disable' ? 'no TLS' : 'TLS verify-full'
    return `postgres://${String(fields.host)}:${String(fields.port)}/${String(fields.database)} (${tls})`
  }
  if (kind === 'ssh') {
    // The pinned host key's type; its fingerprint is what `gatehouse connection list` shows.
    const keyType = typeof fields.hostKey === 'string' ? fields.hostKey.split(' ')[0] : 'no key'
    return `ssh://${String(fields.host)}:${String(fields.port)} (host key ${keyType} pinned)`
  }
  return kind
}
