/**
 * Every event of a session, in order: the command as recorded (SQL text or HTTP request)
 * with its classification and the decision and rule, approvals with who decided, each
 * outcome with status, rows, timings and what was masked on the way to the caller.
 * Everything is text through JSX, so hostile transcript content is escaped.
 */

import { HeaderTable } from '../../approvals/page/command-view.tsx'
import {
  type HttpCommandEntry,
  type MaskedEntry,
  maskedName,
  type OutcomeEntry,
  personLabel,
  type ShellCommandEntry,
  type SqlCommandEntry,
  type TimelineEntry,
} from '../timeline.ts'
import { bytes, count, duration } from './format.ts'

export function TimelineView(props: { entries: TimelineEntry[] }) {
  if (!props.entries.length) return <p class="muted">The transcript holds no events.</p>
  return (
    <ol class="timeline">
      {props.entries.map((entry) => (
        <EntryView entry={entry} />
      ))}
    </ol>
  )
}

function EntryView({ entry }: { entry: TimelineEntry }) {
  switch (entry.kind) {
    case 'command':
      return (
        <li
          id={`e${entry.seq}`}
          class={`command ${entry.data.decision.action === 'block' ? 'blocked' : ''}`}
        >
          <Head seq={entry.seq} offsetMs={entry.offsetMs} title="command" />
          <CommandView command={entry.data.command} />
          <p>
            Decision: <strong>{entry.data.decision.action}</strong>
            {entry.data.decision.rule ? (
              <>
                {' '}
                by rule <code>{entry.data.decision.rule.name}</code>
              </>
            ) : (
              <span class="muted"> (connection default)</span>
            )}
            {entry.data.decision.reason ? ` — ${entry.data.decision.reason}` : ''}
          </p>
          {entry.data.masked?.length ? (
            <p class="masked">
              Recorded masked: <MaskedList masked={entry.data.masked} />
            </p>
          ) : null}
        </li>
      )
    case 'outcome':
      return (
        <li id={`e${entry.seq}`} class={`outcome ${entry.data.status}`}>
          <Head seq={entry.seq} offsetMs={entry.offsetMs} title="outcome" />
          <OutcomeView outcome={entry.data} />
        </li>
      )
    case 'approval':
      return (
        <li id={`e${entry.seq}`} class="approval">
          <Head seq={entry.seq} offsetMs={entry.offsetMs} title="approval" />
          <p>
            <a href={`/approvals/${entry.data.approval}`}>Approval</a>{' '}
            {entry.data.refused ? (
              <>
                refused: <code>{entry.data.refused}</code>
              </>
            ) : (
              <strong>{entry.data.state ?? 'unknown'}</strong>
            )}
            {entry.data.by ? ` by ${personLabel(entry.data.by)}` : ''}
            {entry.data.via ? ` via ${entry.data.via}` : ''}
            {entry.data.comment ? `: “${entry.data.comment}”` : ''}
            {entry.data.reason ? ` (${entry.data.reason})` : ''}
            {entry.data.answered ? ` — caller told: ${entry.data.answered}` : ''}
            {entry.data.expiresAt ? ` — expires ${entry.data.expiresAt}` : ''}
          </p>
        </li>
      )
    case 'refused':
      return (
        <li id={`e${entry.seq}`} class="refused">
          <Head seq={entry.seq} offsetMs={entry.offsetMs} title="access refused" />
          <p>
            <code>{entry.data.code}</code> {entry.data.message}
          </p>
          <Facts data={withoutKeys(entry.data, ['code', 'message'])} />
        </li>
      )
    case 'facts':
      return (
        <li id={`e${entry.seq}`} class="facts">
          <Head seq={entry.seq} offsetMs={entry.offsetMs} title={entry.type} />
          <Facts data={entry.data} />
        </li>
      )
    case 'raw':
      return (
        <li class="error">
          <div class="event-head">
            <span class="seq">#{entry.seq ?? '?'}</span>
            <strong>{entry.reason}</strong>
          </div>
          <pre>{entry.line}</pre>
        </li>
      )
  }
}

function Head(props: { seq: number; offsetMs: number; title: string }) {
  return (
    <div class="event-head">
      <span class="seq">#{props.seq}</span>
      <strong>{props.title}</strong>
      <span class="muted">+{duration(props.offsetMs)}</span>
    </div>
  )
}

function HttpCommandView({ command }: { command: HttpCommandEntry }) {
  const headers = Object.entries(command.headers)
  return (
    <>
      <pre>
        {command.method} {command.path}
        {command.query ? `?${command.query}` : ''}
      </pre>
      {headers.length ? (
        <details>
          <summary>{count(headers.length, 'header')}</summary>
          <HeaderTable headers={headers} />
        </details>
      ) : null}
      {command.body && command.body.bytes > 0 ? (
        command.body.text !== undefined ? (
          <details>
            <summary>Body, {bytes(command.body.bytes)}</summary>
            <pre>{command.body.text}</pre>
          </details>
        ) : (
          <p class="muted">
            Body: {bytes(command.body.bytes)}
            {command.body.base64 !== undefined ? ' (binary)' : ' (not stored whole)'}
            {command.body.sha256 ? `, SHA-256 ${command.body.sha256}` : ''}
          </p>
        )
      ) : null}
    </>
  )
}

function CommandView({
  command,
}: {
  command: HttpCommandEntry | SqlCommandEntry | ShellCommandEntry
}) {
  switch (command.kind) {
    case 'http':
      return <HttpCommandView command={command} />
    case 'sql':
      return <SqlCommandView command={command} />
    case 'shell':
      return <ShellCommandView command={command} />
  }
}

/** A command line (or an interactive shell) and what each of its commands is. */
function ShellCommandView({ command }: { command: ShellCommandEntry }) {
  if (command.via === 'shell') return <p>Interactive shell</p>
  return (
    <>
      <pre>{command.text}</pre>
      {command.stdin ? (
        <p class="muted">stdin: {command.stdin.text ?? `${command.stdin.bytes} bytes`}</p>
      ) : null}
      {command.commands.length ? (
        <p class="muted">
          {command.via}:{' '}
          {command.commands
            .map(
              (simple) =>
                `${simple.program || '(none)'}: ${simple.class}${simple.via.length ? ` via ${simple.via.join(' → ')}` : ''}${simple.risks.length ? ` — ${simple.risks.join('; ')}` : ''}`
            )
            .join(' · ')}
        </p>
      ) : null}
    </>
  )
}

function SqlCommandView({ command }: { command: SqlCommandEntry }) {
  return (
    <>
      <pre>{command.text}</pre>
      {command.params?.length ? (
        <p>
          Parameters:{' '}
          {command.params.map((param, index) => (
            <>
              {index ? ', ' : ''}
              {param === null ? <span class="muted">NULL</span> : <code>{param}</code>}
            </>
          ))}
        </p>
      ) : null}
      {command.statements.length ? (
        <p class="muted">
          {command.via}:{' '}
          {command.statements
            .map(
              (statement) =>
                `${statement.class} (${statement.kind})${statement.tables.length ? ` on ${statement.tables.join(', ')}` : ''}${statement.risks.length ? ` — ${statement.risks.join('; ')}` : ''}`
            )
            .join(' · ')}
        </p>
      ) : null}
    </>
  )
}

/** Summary keys the outcome line already says in words. */
const SHOWN_SUMMARY_KEYS = new Set(['masked', 'tags', 'rows', 'columns', 'error', 'status'])

function OutcomeView({ outcome }: { outcome: OutcomeEntry }) {
  const summary = outcome.summary
  const masked = maskedEntries(summary.masked)
  const error = summary.error as { sqlState?: unknown; message?: unknown } | undefined
  const rest = Object.entries(summary).filter(([key]) => !SHOWN_SUMMARY_KEYS.has(key))
  return (
    <>
      <p>
        <a href={`#e${outcome.command}`}>Command #{outcome.command}</a>:{' '}
        <strong>{outcome.status}</strong>
        {outcome.errorCode ? (
          <>
            {' '}
            <code>{outcome.errorCode}</code>
          </>
        ) : null}
        {typeof summary.status === 'number' ? ` — HTTP ${summary.status}` : ''}
        {Array.isArray(summary.tags) && summary.tags.length ? ` — ${summary.tags.join(', ')}` : ''}
        {typeof summary.rows === 'number' ? ` — ${count(summary.rows, 'row')}` : ''}
        {outcome.durationMs !== undefined ? ` in ${duration(outcome.durationMs)}` : ''}
        {outcome.bytesDown !== undefined ? `, ${bytes(outcome.bytesDown)} down` : ''}
        {outcome.bytesUp ? `, ${bytes(outcome.bytesUp)} up` : ''}
      </p>
      {Array.isArray(summary.columns) && summary.columns.length ? (
        <p class="muted">Columns: {summary.columns.map(columnName).join(', ')}</p>
      ) : null}
      {error && typeof error === 'object' ? (
        <p>
          Origin error{typeof error.sqlState === 'string' ? ` ${error.sqlState}` : ''}:{' '}
          {typeof error.message === 'string' ? error.message : ''}
        </p>
      ) : null}
      {masked.length ? (
        <p class="masked">
          Masked for the caller: <MaskedList masked={masked} />
        </p>
      ) : null}
      {rest.length ? <Facts data={Object.fromEntries(rest)} /> : null}
    </>
  )
}

function maskedEntries(value: unknown): MaskedEntry[] {
  if (!Array.isArray(value)) return []
  return value.filter(
    (item): item is MaskedEntry =>
      typeof item === 'object' &&
      item !== null &&
      typeof (item as MaskedEntry).by === 'string' &&
      typeof (item as MaskedEntry).count === 'number'
  )
}

/** `email masked (column:public.customers.email) ×3`. */
function MaskedList(props: { masked: MaskedEntry[] }) {
  return (
    <>
      {props.masked.map((entry, index) => (
        <>
          {index ? '; ' : ''}
          {maskedName(entry.by)} masked (<code>{entry.by}</code>)
          {entry.count > 1 ? ` ×${entry.count}` : ''}
        </>
      ))}
    </>
  )
}

function columnName(column: unknown): string {
  if (typeof column === 'string') return column
  if (typeof column === 'object' && column !== null && 'name' in column) {
    return String((column as { name: unknown }).name)
  }
  return JSON.stringify(column)
}

function withoutKeys(data: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !keys.includes(key)))
}

/** Any other recorded facts, as key: JSON (escaped like all text). */
function Facts(props: { data: Record<string, unknown> }) {
  const entries = Object.entries(props.data)
  if (!entries.length) return null
  return (
    <dl>
      {entries.map(([key, value]) => (
        <>
          <dt>{key}</dt>
          <dd>
            <code>{typeof value === 'string' ? value : JSON.stringify(value)}</code>
          </dd>
        </>
      ))}
    </dl>
  )
}
