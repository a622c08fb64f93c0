/**
 * One session: who, where, when and the counts from the index; the integrity badge; the
 * kill switch while it is live; and the timeline of every recorded event.
 */
import type { sessions } from '../../db/schema.ts'
import type { ConsoleUser } from '../access.ts'
import type { Integrity } from '../integrity.ts'
import type { RecordingCheck } from '../terminal-integrity.ts'
import { CAST_ATTRIBUTE, TERMINAL_ASSETS } from '../terminal-player-assets.ts'
import type { TerminalRecording } from '../terminal-recording.ts'
import type { TimelineEntry } from '../timeline.ts'
import { bytes, count, duration, utc } from './format.ts'
import { ConsoleLayout, Note } from './layout.tsx'
import { TimelineView } from './timeline-view.tsx'

/** Longest reason a responder may give for a kill. */
export const MAX_KILL_REASON_CHARS = 200

export type SessionPageProps = {
  user: ConsoleUser
  row: typeof sessions.$inferSelect
  integrity: Integrity
  entries: TimelineEntry[]
  /** The session's terminal recordings (SSH shells and pty execs), for the player. */
  terminals: (TerminalRecording & { check: RecordingCheck })[]
  /** Which events this page shows: `size` of them from index `first`. */
  window: { first: number; size: number }
  /** After a kill: what happened. */
  notice?: { tone: 'ok' | 'bad'; text: string } | undefined
}

export function SessionPage(props: SessionPageProps) {
  const { row } = props
  return (
    <ConsoleLayout title={`Session ${row.id}`} user={props.user} section="/ui/sessions">
      <h1>
        Session <code>{row.id}</code>{' '}
        {row.status === 'open' ? <span class="badge warn">live</span> : null}{' '}
        <IntegrityBadge integrity={props.integrity} />
      </h1>
      {props.notice ? <Note tone={props.notice.tone}>{props.notice.text}</Note> : null}
      <dl>
        <dt>Caller</dt>
        <dd>
          {row.callerId}{' '}
          <span class="muted">
            (via {row.callerVia}
            {row.tokenId ? `, token ${row.tokenId}` : ''})
          </span>
        </dd>
        <dt>Connection</dt>
        <dd>
          {row.connectionName} <span class="muted">({row.protocol})</span>
        </dd>
        <dt>Client</dt>
        <dd>
          {row.clientIp ?? 'unknown address'}
          {row.userAgent ? <span class="muted"> — {row.userAgent}</span> : null}
        </dd>
        <dt>Started</dt>
        <dd>{utc(row.startedAt)}</dd>
        <dt>Ended</dt>
        <dd>
          {row.endedAt === null
            ? row.status === 'open'
              ? 'still open'
              : 'never closed (cut short)'
            : `${utc(row.endedAt)} (${duration(row.endedAt - row.startedAt)})`}
        </dd>
        <dt>Outcome</dt>
        <dd>
          {row.outcome}: {count(row.commands, 'command')}, {row.allowed} allowed, {row.blocked}{' '}
          blocked, {row.approvalsRequired} held for approval ({row.approved} approved), {row.masked}{' '}
          masked, {count(row.errors, 'error')}
        </dd>
        <dt>Traffic</dt>
        <dd>
          {bytes(row.bytesUp)} up, {bytes(row.bytesDown)} down
        </dd>
        <dt>Transcript</dt>
        <dd>
          <code>{row.transcriptPrefix}</code>{' '}
          <span class="muted">
            ({row.chunks} chunks, {row.events} events indexed)
          </span>
        </dd>
      </dl>
      <IntegrityProblems integrity={props.integrity} />
      {row.status === 'open' ? <KillForm user={props.user} id={row.id} /> : null}
      <TerminalReplay id={row.id} protocol={row.protocol} terminals={props.terminals} />
      <h2>Timeline</h2>
      <TimelineWindow {...props} />
    </ConsoleLayout>
  )
}

/** A long session's timeline in pages of events, so the page stays readable. */
function TimelineWindow(props: SessionPageProps) {
  const { first, size } = props.window
  const total = props.entries.length
  if (total <= size && first === 0) return <TimelineView entries={props.entries} />
  const start = Math.min(first, Math.max(0, total - 1))
  const end = Math.min(total, start + size)
  const link = (from: number, label: string) => (
    <a href={`/ui/sessions/${props.row.id}?from=${from}`}>{label}</a>
  )
  return (
    <>
      <p class="muted">
        Events {start + 1}–{end} of {total}.
      </p>
      <TimelineView entries={props.entries.slice(start, end)} />
      <div class="pager">
        {start > 0 ? link(Math.max(0, start - size), 'Earlier events') : null}
        {end < total ? link(end, 'Later events') : null}
      </div>
    </>
  )
}

/** Whether the recording is the one the transcript's `terminal` events name. */
function RecordingBadge({ check }: { check: RecordingCheck }) {
  if (check.problems.length) {
    return (
      <span class="badge bad" title={check.problems.join('\n')}>
        recording altered ({check.problems.join('; ')})
      </span>
    )
  }
  return (
    <span class="badge ok" title="Each part's SHA-256 in R2 is the one the transcript recorded.">
      recording verified ({count(check.verified, 'part')})
    </span>
  )
}

/** One line on whether the transcript can be trusted, with the details on hover. */
export function IntegrityBadge({ integrity }: { integrity: Integrity }) {
  const { verdict, index } = integrity
  const events = count(verdict.events, 'event')
  if (verdict.status === 'tampered') {
    return (
      <span class="badge bad" title={verdict.problems.map((problem) => problem.detail).join('\n')}>
        tampered ({count(verdict.problems.length, 'problem')})
      </span>
    )
  }
  if (index === 'differs') {
    return (
      <span
        class="badge bad"
        title="The chain holds, but the index recorded another head or count."
      >
        index mismatch ({events} stored, {integrity.indexed} indexed)
      </span>
    )
  }
  if (verdict.status === 'intact') {
    return (
      <span
        class="badge ok"
        title={`Every event re-hashed; the closing manifest is signed by ${verdict.manifest?.kid ?? 'the gateway'}.`}
      >
        integrity verified ({events}, signed)
      </span>
    )
  }
  // No signed manifest yet: expected while the session is live, a warning once it ended.
  return integrity.live ? (
    <span class="badge ok" title={verdict.incomplete}>
      chain intact so far ({events})
    </span>
  ) : (
    <span class="badge warn" title={verdict.incomplete}>
      chain intact, unsigned ({events})
    </span>
  )
}

/** What verification found wrong, event by event. */
function IntegrityProblems({ integrity }: { integrity: Integrity }) {
  const { verdict } = integrity
  if (!verdict.problems.length && integrity.index !== 'differs') return null
  return (
    <section>
      <h2>Integrity problems</h2>
      <ul>
        {verdict.problems.map((problem) => (
          <li>
            <strong>{problem.kind}</strong>
            {problem.seq !== undefined ? ` (event #${problem.seq})` : ''}: {problem.detail}
          </li>
        ))}
        {integrity.index === 'differs' ? (
          <li>
            <strong>index</strong>: R2 holds {count(verdict.events, 'event')}; the index recorded{' '}
            {integrity.indexed} and another chain head.
          </li>
        ) : null}
      </ul>
    </section>
  )
}

function KillForm(props: { user: ConsoleUser; id: string }) {
  return (
    <form method="post" action={`/ui/sessions/${props.id}/kill`}>
      <input type="hidden" name="csrf" value={props.user.session.csrf} />
      <label for="reason">Reason for ending this session (recorded)</label>
      <input
        id="reason"
        name="reason"
        maxlength={MAX_KILL_REASON_CHARS}
        placeholder="e.g. agent running unexpected queries"
      />
      <div class="actions">
        <button class="danger" type="submit">
          Kill session
        </button>
      </div>
    </form>
  )
}

/**
 * A player per recorded terminal (asciicast v2 from R2, served by
 * `/ui/sessions/:id/terminal/:n.cast`), with a download link; the route that renders this
 * grants the page the player's script (terminal-player-assets.ts). Sessions without a
 * terminal show nothing here, SSH ones say so: their exec commands are in the timeline.
 */
function TerminalReplay(props: {
  id: string
  protocol: string
  terminals: (TerminalRecording & { check: RecordingCheck })[]
}) {
  if (props.terminals.length === 0) {
    return props.protocol === 'ssh' ? (
      <p class="note">No terminal was recorded in this session; its commands are below.</p>
    ) : null
  }
  return (
    <section>
      <h2>Terminal replay</h2>
      <link rel="stylesheet" href={TERMINAL_ASSETS.playerStylesheet} />
      {props.terminals.map((recording) => {
        const cast = `/ui/sessions/${props.id}/terminal/${recording.terminal}.cast`
        return (
          <figure class="terminal">
            <div {...{ [CAST_ATTRIBUTE]: cast }} />
            <figcaption>
              <code>terminal-{recording.terminal}</code>: {bytes(recording.bytes)} of asciicast v2 (
              <a href={`${cast}?download=1`} download>
                download
              </a>
              )
              {recording.omittedParts > 0
                ? `; ${count(recording.omittedParts, 'later part')} not shown (past a gap or the size limit)`
                : ''}{' '}
              <RecordingBadge check={recording.check} />
            </figcaption>
          </figure>
        )
      })}
      <script src={TERMINAL_ASSETS.playerScript} />
      <script src={TERMINAL_ASSETS.startScript} />
    </section>
  )
}
