/**
 * `gatehouse approvals list|show|approve|deny`: commands held for a human. `list` and
 * `show` read the admin index and each approval's own hash-chained log (admin token;
 * `show` falls back to the request alone for its requester and approvers); `approve`
 * and `deny` decide as the caller, so they take an approver's own token (an agent token
 * or an OIDC JWT), never the admin one.
 */
import { type Command, InvalidArgumentError } from 'commander'
import type { approvals } from '../../src/db/schema.ts'
import { GatewayError } from '../client.ts'
import { contextOf } from '../context.ts'
import { CliError, formatTime, note, print, printJson, printTable, usageError } from '../output.ts'

/** A row of the approvals index, as GET /v1/admin/approvals returns it. */
type ApprovalRow = typeof approvals.$inferSelect

type ApprovalState = ApprovalRow['state']

/** An approval as its Durable Object holds it (GET /v1/approvals/:id, decisions). */
export type ApprovalView = {
  id: string
  state: ApprovalState
  sessionId: string
  commandSeq: number
  requester: { id: string; name: string; via: string; owner?: string }
  connection: { name: string; kind: string }
  summary: string
  rule: string | null
  reason: string
  approvers: string[]
  requestedAt: string
  expiresAt: string
  url: string
  decision?: {
    verdict: 'approve' | 'deny'
    by: { id: string; name: string; email?: string; proof: string }
    via: string
    at: number
    comment?: string
  }
  endedReason?: string
  endedAt?: string
  consumedAt?: string
}

type LogEvent = { seq: number; at: string; type: string; data: Record<string, unknown> }

type Integrity =
  | { intact: true; events: number; lastHash: string | null }
  | { intact: false; events: number; brokenAt: number; problem: string }

type AdminApproval = { approval: ApprovalView; events: LogEvent[]; integrity: Integrity }

type ListOptions = { state?: string; connection?: string; limit?: number }

const STATES: readonly ApprovalState[] = ['pending', 'approved', 'denied', 'expired', 'cancelled']

/** Longest comment the gateway keeps with a decision. */
const MAX_COMMENT_CHARS = 500

/** Adds `approvals list|show|approve|deny`. */
export function registerApprovalCommands(program: Command): void {
  const approvalsCommand = program
    .command('approvals')
    .description('list, inspect and decide commands held for approval')

  approvalsCommand
    .command('list')
    .description('list approval requests, newest first (admin)')
    .option('--state <state>', `only this state: ${STATES.join(', ')}`, oneOf(STATES))
    .option('--connection <name>', 'only requests on this connection')
    .option('--limit <n>', 'at most this many (1-200, default 50)', wholeNumber)
    .action(async (options: ListOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const page = await client.json<{ approvals: ApprovalRow[] }>('GET', '/v1/admin/approvals', {
        query: { state: options.state, connection: options.connection, limit: options.limit },
      })
      if (json) return printJson(page)
      if (page.approvals.length === 0) {
        return print(options.state ? `No ${options.state} approvals.` : 'No approvals.')
      }
      printTable(page.approvals, [
        { header: 'ID', value: (row) => row.id },
        { header: 'REQUESTED', value: (row) => formatTime(row.requestedAt) },
        { header: 'STATE', value: (row) => stateOf(row) },
        { header: 'REQUESTER', value: (row) => row.requesterId },
        { header: 'CONNECTION', value: (row) => row.connectionName },
        { header: 'EXPIRES', value: (row) => formatTime(row.expiresAt) },
        { header: 'DECIDED BY', value: (row) => decidedBy(row) },
        { header: 'APPROVERS', value: (row) => row.approvers.join(',') },
        { header: 'COMMAND', value: (row) => row.summary },
      ])
    })

  approvalsCommand
    .command('show')
    .description(
      "print an approval request, its event log and whether the log's chain holds (admin)"
    )
    .argument('<id>', 'approval id, from `approvals list` or the X-Gatehouse-Approval header')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, json } = contextOf(command)
      let shown: AdminApproval
      try {
        shown = await client.json<AdminApproval>(
          'GET',
          `/v1/admin/approvals/${encodeURIComponent(id)}`
        )
      } catch (error) {
        if (!(error instanceof GatewayError && error.code === 'admin.forbidden')) throw error
        // Not an admin: the requester and the approvers may still see the request itself.
        const approval = await client.json<ApprovalView>(
          'GET',
          `/v1/approvals/${encodeURIComponent(id)}`
        )
        if (json) return printJson({ approval })
        printApproval(approval)
        return note('(its event log needs the admin token)')
      }
      if (json) return printJson(shown)
      printApproval(shown.approval)
      print()
      for (const event of shown.events) print(describeLogEvent(event))
      print()
      const { integrity } = shown
      if (!integrity.intact) {
        throw new CliError(
          'approval.log_broken',
          `Approval ${shown.approval.id}: the log's hash chain breaks at event ${integrity.brokenAt} ` +
            `of ${integrity.events} (${integrity.problem}); the log was altered or is incomplete.`
        )
      }
      print(
        `Log: chain intact, ${integrity.events} events, last hash ${integrity.lastHash ?? '-'}.`
      )
    })

  for (const verdict of ['approve', 'deny'] as const) {
    approvalsCommand
      .command(verdict)
      .description(
        verdict === 'approve'
          ? 'approve a held command, as yourself (your own token, not the admin one)'
          : 'deny a held command, as yourself (your own token, not the admin one)'
      )
      .argument('<id>', 'approval id, from the 202 answer or the X-Gatehouse-Approval header')
      .option(
        '--comment <text>',
        `why, kept with the decision (at most ${MAX_COMMENT_CHARS} characters)`
      )
      .action(async (id: string, options: { comment?: string }, command: Command) => {
        const { client, json } = contextOf(command)
        if (options.comment !== undefined && options.comment.length > MAX_COMMENT_CHARS) {
          throw usageError(
            `--comment must be at most ${MAX_COMMENT_CHARS} characters (got ${options.comment.length})`
          )
        }
        const decided = await client.json<ApprovalView>(
          'POST',
          `/v1/approvals/${encodeURIComponent(id)}/decision`,
          { json: { verdict, ...(options.comment ? { comment: options.comment } : {}) } }
        )
        if (json) return printJson(decided)
        const what = `${decided.summary} on ${decided.connection.name}, requested by ${decided.requester.id}`
        if (verdict === 'approve') {
          print(`Approved ${decided.id}: ${what}.`)
          print(
            'A caller still waiting gets its answer now; one that was told 202 sends the same ' +
              `request again with "X-Gatehouse-Approval: ${decided.id}". It goes through once.`
          )
        } else {
          print(`Denied ${decided.id}: ${what}.`)
          print('The command is refused with approval.denied and never reaches the target.')
        }
      })
  }
}

/** The record as a few labelled lines. */
function printApproval(approval: ApprovalView): void {
  print(
    `Approval ${approval.id}: ${approval.summary} on ${approval.connection.name}, ${approval.state}`
  )
  print(`requester:  ${approval.requester.id} (${approval.requester.via})`)
  print(
    `rule:       ${approval.rule ? `"${approval.rule}"` : 'connection default'}: ${approval.reason}`
  )
  print(`approvers:  ${approval.approvers.join(', ') || '(none)'}`)
  print(
    `requested:  ${isoTime(approval.requestedAt)}, expires ${isoTime(approval.expiresAt)} ` +
      `(session ${approval.sessionId}, command #${approval.commandSeq})`
  )
  const { decision } = approval
  if (decision) {
    const comment = decision.comment ? `: ${JSON.stringify(decision.comment)}` : ''
    print(
      `decision:   ${decision.verdict === 'approve' ? 'approved' : 'denied'} by ${decision.by.id} ` +
        `via ${decision.via} at ${formatTime(decision.at)}${comment}`
    )
  } else if (approval.endedReason) {
    print(`ended:      ${approval.endedReason}`)
  }
  if (approval.consumedAt) print(`used:       ${isoTime(approval.consumedAt)}`)
  print(`page:       ${approval.url}`)
}

/** One event of an approval's log: `#1 09:20:11.123  approved   by agent:x via api`. */
export function describeLogEvent(event: LogEvent): string {
  const time = event.at.slice(11, 23)
  const { label, text } = describeLogData(event.data)
  return `#${event.seq} ${time}  ${label.padEnd(10)} ${text}`.trimEnd()
}

function describeLogData(data: Record<string, unknown>): { label: string; text: string } {
  const state = typeof data.state === 'string' ? data.state : '?'
  if (data.refused !== undefined) {
    const by = subjectOf(data.by)
    const via = data.via ? ` via ${data.via}` : ''
    return { label: 'refused', text: `${data.refused}: ${data.attempt ?? '?'} by ${by}${via}` }
  }
  if (data.consumed === true) {
    return { label: 'used', text: 'the approved command was let through (once)' }
  }
  switch (state) {
    case 'pending': {
      const requester = record(data.requester)
      const approvers = Array.isArray(data.approvers) ? data.approvers.join(', ') : '?'
      const rule = data.rule ? `rule "${data.rule}"` : 'the connection default'
      return {
        label: 'requested',
        text: `${requester.id ?? '?'} (session ${data.session}, command #${data.commandSeq}), held by ${rule}; approvers ${approvers}; expires ${data.expiresAt}`,
      }
    }
    case 'approved':
    case 'denied': {
      const comment = data.comment ? `: ${JSON.stringify(data.comment)}` : ''
      return { label: state, text: `by ${subjectOf(data.by)} via ${data.via ?? '?'}${comment}` }
    }
    case 'cancelled':
      return { label: state, text: String(data.reason ?? '') }
    default:
      return { label: state, text: '' }
  }
}

/** `agent:x` from a decider object `{id, name, proof}` or a plain id. */
function subjectOf(value: unknown): string {
  if (typeof value === 'string') return value
  const by = record(value)
  return typeof by.id === 'string' ? by.id : '?'
}

function stateOf(row: ApprovalRow): string {
  return row.state === 'approved' && row.consumedAt !== null ? 'approved (used)' : row.state
}

function decidedBy(row: ApprovalRow): string {
  return row.decidedBy ? `${row.decidedBy} (${row.decidedVia ?? '?'})` : '-'
}

/** An ISO timestamp the way formatTime prints milliseconds. */
function isoTime(iso: string): string {
  return formatTime(Date.parse(iso))
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
}

function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}.`)
    }
    return value as T
  }
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number.')
  return Number(value)
}
