/**
 * `gatehouse sessions list|show|verify`: the recordings. `show` renders each transcript
 * event as one readable line (`--json` prints the NDJSON exactly as stored, so it can be
 * hashed and archived); `verify` checks the hash chain and exits 1 if it is broken.
 */
import { type Command, InvalidArgumentError } from 'commander'
import type { sessions } from '../../src/db/schema.ts'
import { contextOf } from '../context.ts'
import { CliError, formatTime, print, printJson, printRaw, printTable } from '../output.ts'
import { registerKillCommand } from './containment.ts'

/** A row of the session index, as GET /v1/admin/sessions returns it. */
type SessionRow = typeof sessions.$inferSelect

type TranscriptEvent = {
  seq: number
  at: string
  type: string
  data: Record<string, unknown>
}

type VerifyResult = {
  session: string
  chain:
    | { intact: true; events: number; lastHash: string | null }
    | { intact: false; events: number; brokenAt: number; problem: string }
  matchesIndex: boolean
  status: string
}

type ListOptions = {
  connection?: string
  caller?: string
  protocol?: string
  outcome?: string
  limit?: number
  cursor?: string
}

const OUTCOMES = ['ok', 'blocked', 'error', 'refused']

/** Adds `sessions list|show|verify|kill`. */
export function registerSessionCommands(program: Command): void {
  const sessions = program
    .command('sessions')
    .description('list, show and verify recordings; kill a live session')

  sessions
    .command('list')
    .description('list recorded sessions, newest first')
    .option('--connection <name>', 'only sessions on this connection ("admin" for admin actions)')
    .option('--caller <id>', 'only this caller, e.g. agent:demo-agent')
    .option('--protocol <protocol>', 'only this protocol, e.g. http')
    .option('--outcome <outcome>', `only this outcome: ${OUTCOMES.join(', ')}`, oneOf(OUTCOMES))
    .option('--limit <n>', 'at most this many (1-200, default 50)', wholeNumber)
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (options: ListOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const page = await client.json<{ sessions: SessionRow[]; next: string | null }>(
        'GET',
        '/v1/admin/sessions',
        {
          query: {
            connection: options.connection,
            caller: options.caller,
            protocol: options.protocol,
            outcome: options.outcome,
            limit: options.limit,
            cursor: options.cursor,
          },
        }
      )
      if (json) return printJson(page)
      if (page.sessions.length === 0) return print('No sessions recorded.')
      printTable(page.sessions, [
        { header: 'ID', value: (row) => row.id },
        { header: 'STARTED', value: (row) => formatTime(row.startedAt) },
        { header: 'CALLER', value: (row) => row.callerId },
        { header: 'CONNECTION', value: (row) => row.connectionName },
        { header: 'PROTOCOL', value: (row) => row.protocol },
        { header: 'OUTCOME', value: (row) => row.outcome },
        { header: 'CMDS', value: (row) => String(row.commands) },
        { header: 'ALLOWED', value: (row) => String(row.allowed) },
        { header: 'BLOCKED', value: (row) => String(row.blocked) },
        { header: 'APPROVAL', value: (row) => String(row.approvalsRequired) },
        { header: 'STATUS', value: (row) => row.status },
      ])
      if (page.next) print(`\nMore: gatehouse sessions list --cursor ${page.next}`)
    })

  sessions
    .command('show')
    .description('print a session transcript (--json: the raw NDJSON)')
    .argument('<id>', 'session id')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const path = `/v1/admin/sessions/${encodeURIComponent(id)}`
      if (json) {
        const transcript = await client.raw('GET', `${path}/transcript`, {
          accept: 'application/x-ndjson',
        })
        return printRaw(transcript.text)
      }
      const [row, transcript] = await Promise.all([
        client.json<SessionRow>('GET', path),
        client.raw('GET', `${path}/transcript`, { accept: 'application/x-ndjson' }),
      ])
      print(
        `Session ${row.id}: ${row.callerId} on ${row.connectionName} (${row.protocol}), ` +
          `${row.status}, outcome ${row.outcome}`
      )
      print(
        `started ${formatTime(row.startedAt)}, ended ${formatTime(row.endedAt)}; ` +
          `${row.commands} command(s): ${row.allowed} allowed, ${row.blocked} blocked, ` +
          `${row.approvalsRequired} needing approval, ${row.errors} error(s)`
      )
      print()
      for (const line of transcript.text.split('\n')) {
        if (line) print(describeEvent(JSON.parse(line) as TranscriptEvent))
      }
    })

  sessions
    .command('verify')
    .description("check a transcript's hash chain and that the index agrees (exit 1 if not)")
    .argument('<id>', 'session id')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const result = await client.json<VerifyResult>(
        'GET',
        `/v1/admin/sessions/${encodeURIComponent(id)}/verify`
      )
      const ok = result.chain.intact && result.matchesIndex
      if (json) {
        printJson(result)
        if (!ok) process.exitCode = 1
        return
      }
      if (!result.chain.intact) {
        throw new CliError(
          'transcript.broken',
          `Session ${result.session}: the hash chain breaks at event ${result.chain.brokenAt} ` +
            `of ${result.chain.events} (${result.chain.problem}); the transcript was altered or is incomplete.`
        )
      }
      if (!result.matchesIndex) {
        throw new CliError(
          'transcript.index_mismatch',
          `Session ${result.session}: the chain is intact (${result.chain.events} events) but the ` +
            `index disagrees with it (status ${result.status}); events may be missing from the end.`
        )
      }
      print(
        `Session ${result.session}: chain intact, ${result.chain.events} events, ` +
          `last hash ${result.chain.lastHash ?? '-'}; the index matches (status ${result.status}).`
      )
    })

  registerKillCommand(sessions)
}

/** One transcript event as a line: `#1 09:20:11.123 command  DELETE /admin/users/42 → block …`. */
export function describeEvent(event: TranscriptEvent): string {
  const time = event.at.slice(11, 23)
  return `#${event.seq} ${time}  ${event.type.padEnd(14)} ${describeData(event)}`.trimEnd()
}

function describeData({ type, data }: TranscriptEvent): string {
  switch (type) {
    case 'session.start': {
      const caller = record(data.caller)
      const client = record(data.client)
      const policy = data.policyVersion === undefined ? '' : `, policy v${data.policyVersion}`
      const agent = client.userAgent ? `, client ${client.userAgent}` : ''
      return `${caller.id ?? '?'} (${caller.via ?? '?'}) → ${data.connection} over ${data.protocol}${policy}${agent}`
    }
    case 'command': {
      const command = record(data.command)
      const decision = record(data.decision)
      const rule = record(decision.rule)
      const query = command.query ? `?${command.query}` : ''
      const body = record(command.body)
      const size = typeof body.bytes === 'number' ? ` (${body.bytes} B body)` : ''
      const by = rule.name ? `rule "${rule.name}"` : 'default'
      return `${command.method} ${command.path}${query}${size} → ${decision.action} by ${by}: ${decision.reason}`
    }
    case 'outcome': {
      const summary = record(data.summary)
      const parts = [`command #${data.command} ${data.status}`]
      if (summary.status !== undefined) parts.push(`HTTP ${summary.status}`)
      if (data.errorCode) parts.push(String(data.errorCode))
      if (typeof data.bytesDown === 'number') parts.push(`${data.bytesDown} B down`)
      if (typeof data.durationMs === 'number') parts.push(`${data.durationMs} ms`)
      return parts.join(', ')
    }
    case 'approval':
      return describeApproval(data)
    case 'access.refused':
      return `${data.code}: ${data.message}${data.detail ? ` (${data.detail})` : ''}`
    case 'admin.action': {
      const { action, ...details } = data
      return `${action} ${JSON.stringify(details)}`
    }
    default:
      return Object.keys(data).length ? JSON.stringify(data) : ''
  }
}

/**
 * A held command's approval as the session saw it (src/approvals/gate.ts):
 * `<id> pending, approvers group:x, expires …`, `<id> approved by agent:y via api`,
 * `<id> refused approval.used`.
 */
function describeApproval(data: Record<string, unknown>): string {
  const id = String(data.approval ?? '?')
  if (data.refused !== undefined) return `${id} refused ${data.refused}`
  const state = String(data.state ?? '?')
  const by = record(data.by)
  const decider = typeof by.id === 'string' ? ` by ${by.id}` : ''
  switch (state) {
    case 'pending': {
      if (data.answered) return `${id} still pending when the wait ended`
      if (data.retry) return `${id} pending, waiting again for the retry`
      const approvers = Array.isArray(data.approvers) ? data.approvers.join(', ') : '?'
      return `${id} pending, approvers ${approvers}, expires ${data.expiresAt}`
    }
    case 'approved':
    case 'denied': {
      const via = data.via ? ` via ${data.via}` : ''
      const comment = data.comment ? `: ${JSON.stringify(data.comment)}` : ''
      return `${id} ${state}${decider}${via}${comment}`
    }
    case 'cancelled':
      return `${id} cancelled${data.reason ? ` (${data.reason})` : ''}`
    default:
      return `${id} ${state}`
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
}

function oneOf(allowed: readonly string[]) {
  return (value: string): string => {
    if (!allowed.includes(value)) {
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}.`)
    }
    return value
  }
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number.')
  return Number(value)
}
