/**
 * The held command in full, so an approver decides on exactly what will be forwarded:
 * every header, the whole body text, each SQL statement or shell command with its class.
 */
import type { BodyRecord, HttpCommand, ShellCommand, SqlCommand } from '../../pipeline/types.ts'
import type { ApprovalRecord } from '../types.ts'

export function CommandView(props: { command: ApprovalRecord['command'] }) {
  const { command } = props
  if (command.kind === 'http') return <HttpCommandView command={command} />
  if (command.kind === 'shell') return <ShellCommandView command={command} />
  return <SqlCommandView command={command} />
}

/** Request headers as recorded (secret-looking values already redacted). */
export function HeaderTable({ headers }: { headers: readonly [string, string][] }) {
  return (
    <table>
      <tbody>
        {headers.map(([name, value]) => (
          <tr>
            <th scope="row">{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function HttpCommandView({ command }: { command: HttpCommand }) {
  const headers = Object.entries(command.headers)
  return (
    <section>
      <h2>HTTP request</h2>
      <pre>
        {command.method} {command.path}
        {command.query ? `?${command.query}` : ''}
      </pre>
      <h2>Headers</h2>
      {headers.length ? <HeaderTable headers={headers} /> : <p class="muted">No headers.</p>}
      <h2>Body</h2>
      <BodyView body={command.body} />
    </section>
  )
}

function BodyView({ body }: { body: BodyRecord | null }) {
  if (!body || body.bytes === 0) return <p class="muted">No body.</p>
  const size = `${body.bytes} bytes${body.sha256 ? `, SHA-256 ${body.sha256}` : ''}`
  if (body.text !== undefined) {
    return (
      <>
        <p class="muted">{size}</p>
        <pre>{body.text}</pre>
      </>
    )
  }
  if (body.base64 !== undefined) {
    return (
      <>
        <p class="muted">Binary body, {size} (base64):</p>
        <pre>{body.base64}</pre>
      </>
    )
  }
  return <p class="muted">Body too large to show: {size}.</p>
}

function SqlCommandView({ command }: { command: SqlCommand }) {
  // One statement's text is the SQL above; several are listed one by one.
  const several = command.statements.length > 1
  return (
    <section>
      <h2>SQL ({command.via})</h2>
      <pre>{command.text}</pre>
      {command.params?.length ? (
        <>
          <h2>Parameters</h2>
          <ol>
            {command.params.map((param) => (
              <li>{param === null ? <span class="muted">NULL</span> : <code>{param}</code>}</li>
            ))}
          </ol>
        </>
      ) : null}
      <h2>Statements</h2>
      <table>
        <thead>
          <tr>
            <th>#</th>
            {several ? <th>Statement</th> : null}
            <th>Class</th>
            <th>Kind</th>
            <th>Writes</th>
            <th>Tables</th>
            <th>Risks</th>
          </tr>
        </thead>
        <tbody>
          {command.statements.map((statement, index) => (
            <tr>
              <td>{index + 1}</td>
              {several ? (
                <td>
                  <code>{statement.text}</code>
                </td>
              ) : null}
              <td>{statement.class}</td>
              <td>{statement.kind}</td>
              <td>{statement.writes ? 'yes' : 'no'}</td>
              <td>{statement.tables.join(', ')}</td>
              <td>{statement.risks.join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

function ShellCommandView({ command }: { command: ShellCommand }) {
  if (command.via === 'shell' && command.text === '') {
    return (
      <section>
        <h2>Interactive shell</h2>
        <p>A terminal session: the commands typed in it are recorded, not classified one by one.</p>
      </section>
    )
  }
  // One command's text is the line above; several are listed one by one.
  const several = command.commands.length > 1
  return (
    <section>
      <h2>Shell command ({command.via})</h2>
      <pre>{command.text}</pre>
      {command.stdin && command.stdin.bytes > 0 ? (
        <>
          <h2>Standard input</h2>
          <BodyView body={command.stdin} />
        </>
      ) : null}
      <h2>Commands</h2>
      <table>
        <thead>
          <tr>
            <th>#</th>
            {several ? <th>Command</th> : null}
            <th>Program</th>
            <th>Class</th>
            <th>Writes</th>
            <th>Run through</th>
            <th>Arguments</th>
            <th>Risks</th>
          </tr>
        </thead>
        <tbody>
          {command.commands.map((simple, index) => (
            <tr>
              <td>{index + 1}</td>
              {several ? (
                <td>
                  <code>{simple.text}</code>
                </td>
              ) : null}
              <td>
                <code>{simple.program}</code>
              </td>
              <td>{simple.class}</td>
              <td>{simple.writes ? 'yes' : 'no'}</td>
              <td>{simple.via.join(' → ')}</td>
              <td>
                {simple.args.map((arg) => (
                  <>
                    <code>{arg}</code>{' '}
                  </>
                ))}
              </td>
              <td>{simple.risks.join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
