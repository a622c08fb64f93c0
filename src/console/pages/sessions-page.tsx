/** The session list: filters (a plain GET form), one row per indexed session, keyset paging. */
import type { ConsoleUser } from '../access.ts'
import {
  filterQuery,
  OUTCOME_FILTERS,
  type SessionFilters,
  type SessionListRow,
  type SessionPage,
  utcMinute,
} from '../session-list.ts'
import { duration, utc } from './format.ts'
import { ConsoleLayout } from './layout.tsx'

export type SessionsPageProps = {
  user: ConsoleUser
  filters: SessionFilters
  page: SessionPage
  /** Suggestions for the filter inputs (agent principals, connection names). */
  callers: string[]
  connections: string[]
}

export function SessionsPage(props: SessionsPageProps) {
  const { filters, page } = props
  return (
    <ConsoleLayout title="Sessions" user={props.user} section="/ui/sessions">
      <h1>Sessions</h1>
      <FilterForm {...props} />
      {page.rows.length ? (
        <table class="list">
          <thead>
            <tr>
              <th>Started</th>
              <th>Caller</th>
              <th>Connection</th>
              <th>Protocol</th>
              <th>Status</th>
              <th>Outcome</th>
              <th class="num">Commands</th>
              <th class="num">Blocked</th>
              <th class="num">Approved</th>
              <th class="num">Masked</th>
              <th class="num">Errors</th>
              <th class="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {page.rows.map((row) => (
              <SessionRow row={row} />
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No sessions match these filters.</p>
      )}
      <div class="pager">
        {filters.before ? <a href={`/ui/sessions${filterQuery(filters)}`}>Newest</a> : null}
        {page.next ? (
          <a rel="next" href={`/ui/sessions${filterQuery(filters, page.next)}`}>
            Older
          </a>
        ) : null}
      </div>
    </ConsoleLayout>
  )
}

function SessionRow({ row }: { row: SessionListRow }) {
  return (
    <tr>
      <td>
        <a href={`/ui/sessions/${row.id}`}>{utc(row.startedAt)}</a>
      </td>
      <td>{row.callerId}</td>
      <td>{row.connectionName}</td>
      <td>{row.protocol}</td>
      <td>{row.status === 'open' ? <span class="badge warn">live</span> : row.status}</td>
      <td>
        <span class={`badge ${row.outcome === 'ok' ? 'ok' : 'bad'}`}>{row.outcome}</span>
      </td>
      <td class="num">{row.commands}</td>
      <td class="num">{row.blocked}</td>
      <td class="num">{row.approved}</td>
      <td class="num">{row.masked}</td>
      <td class="num">{row.errors}</td>
      <td class="num">{row.endedAt === null ? '' : duration(row.endedAt - row.startedAt)}</td>
    </tr>
  )
}

function FilterForm(props: SessionsPageProps) {
  const { filters } = props
  return (
    <form class="filters" method="get" action="/ui/sessions">
      <label>
        Agent or caller
        <input
          name="caller"
          list="callers"
          placeholder="agent:name or user:sub"
          value={filters.caller ?? ''}
        />
      </label>
      <datalist id="callers">
        {props.callers.map((caller) => (
          <option value={caller} />
        ))}
      </datalist>
      <label>
        Connection
        <input name="connection" list="connections" value={filters.connection ?? ''} />
      </label>
      <datalist id="connections">
        {props.connections.map((name) => (
          <option value={name} />
        ))}
      </datalist>
      <label>
        From (UTC)
        <input
          type="datetime-local"
          name="from"
          value={filters.from === undefined ? '' : utcMinute(filters.from)}
        />
      </label>
      <label>
        To (UTC)
        <input
          type="datetime-local"
          name="to"
          value={filters.to === undefined ? '' : utcMinute(filters.to)}
        />
      </label>
      <label>
        Outcome
        <select name="outcome">
          <option value="">any</option>
          {OUTCOME_FILTERS.map((outcome) => (
            <option value={outcome} selected={filters.outcome === outcome}>
              {outcome}
            </option>
          ))}
        </select>
      </label>
      <label>
        Live only
        <input type="checkbox" name="live" value="1" checked={filters.live === '1'} />
      </label>
      <button type="submit">Filter</button>
      <a href="/ui/sessions">Clear</a>
    </form>
  )
}
