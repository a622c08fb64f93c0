/**
 * The Slack messages for an approval, as Block Kit JSON. Pure: every value that came from
 * a requester, a policy or an approver is escaped for mrkdwn and cut to Slack's limits
 * here, so the notifier can post whatever this returns.
 */
import type { ApprovalRecord, DecisionChannel } from '../types.ts'

/** Block Kit reference: section `text`. */
export const SLACK_SECTION_TEXT_MAX = 3000
/** Block Kit reference: each of a section's `fields`. */
export const SLACK_FIELD_TEXT_MAX = 2000
/** Block Kit reference: header `text`. */
export const SLACK_HEADER_TEXT_MAX = 150
/** Block Kit reference: button `text`. */
export const SLACK_BUTTON_TEXT_MAX = 75
/** chat.postMessage: the top-level `text` should stay under 4,000 characters. */
export const SLACK_FALLBACK_TEXT_MAX = 4000
/** Names, ids and reasons are cut on their own, so a sentence built of them stays in bounds. */
const NAME_MAX = 500
const REASON_MAX = 2000
/** The notification line keeps only the start of each part. */
const FALLBACK_PART_MAX = 200

export const APPROVE_ACTION_ID = 'gatehouse.approve'
export const DENY_ACTION_ID = 'gatehouse.deny'

export type SlackPlainText = { type: 'plain_text'; text: string; emoji?: boolean }
export type SlackMrkdwn = { type: 'mrkdwn'; text: string }

export type SlackButton = {
  type: 'button'
  action_id: string
  text: SlackPlainText
  value?: string
  url?: string
  style?: 'primary' | 'danger'
  confirm?: {
    title: SlackPlainText
    text: SlackPlainText
    confirm: SlackPlainText
    deny: SlackPlainText
  }
}

export type SlackBlock =
  | { type: 'header'; text: SlackPlainText }
  | { type: 'section'; text: SlackMrkdwn }
  | { type: 'section'; fields: SlackMrkdwn[] }
  | { type: 'actions'; block_id: string; elements: SlackButton[] }
  | { type: 'context'; elements: SlackMrkdwn[] }

/** What chat.postMessage, chat.update, webhooks and response_url all accept. */
export type SlackMessage = { text: string; blocks: SlackBlock[] }

/** The message posted when an approval is created: who, what, where, why, until when. */
export function approvalMessage(
  record: ApprovalRecord,
  options: { interactive: boolean }
): SlackMessage {
  return {
    text: fallbackText('Approval needed', record),
    blocks: [
      header('Approval needed'),
      ...describeRequest(record),
      decisionButtons(record, options.interactive),
      footer(record),
    ],
  }
}

/** The same message once the approval has ended: the buttons give way to the outcome. */
export function outcomeMessage(record: ApprovalRecord): SlackMessage {
  const outcome = describeOutcome(record)
  return {
    text: fallbackText(outcome.title, record),
    blocks: [
      header(outcome.title),
      ...describeRequest(record),
      { type: 'section', text: mrkdwn(outcome.line) },
      footer(record),
    ],
  }
}

function describeRequest(record: ApprovalRecord): SlackBlock[] {
  const { requester, connection } = record
  const owner = requester.owner ? ` (agent of ${fitMrkdwn(requester.owner, NAME_MAX)})` : ''
  const intro =
    `*${fitMrkdwn(requester.name, NAME_MAX)}*${owner} asks to run this on ` +
    `*${fitMrkdwn(connection.name, NAME_MAX)}* (${fitMrkdwn(connection.kind, NAME_MAX)}):`
  return [
    { type: 'section', text: mrkdwn(intro) },
    { type: 'section', text: mrkdwn(codeBlock(record.summary, SLACK_SECTION_TEXT_MAX)) },
    {
      type: 'section',
      fields: [
        field('Rule', record.rule ?? '(connection default)'),
        field('Reason', record.reason),
        field('Requester', requester.id),
        { type: 'mrkdwn', text: `*Expires*\n${slackDate(record.expiresAt)}` },
      ],
    },
  ]
}

function decisionButtons(record: ApprovalRecord, interactive: boolean): SlackBlock {
  const review = button('gatehouse.review', 'Review in Gatehouse', { url: record.url })
  const value = record.id.toWellFormed()
  // Without a signing secret nothing could verify a button press: link to the page instead.
  const elements = interactive
    ? [
        button(APPROVE_ACTION_ID, 'Approve', {
          value,
          style: 'primary',
          confirm: {
            title: plain('Approve this command?'),
            text: plain('Gatehouse forwards it to the target as soon as you confirm.'),
            confirm: plain('Approve'),
            deny: plain('Cancel'),
          },
        }),
        button(DENY_ACTION_ID, 'Deny', { value, style: 'danger' }),
        review,
      ]
    : [
        button('gatehouse.open_approve', 'Approve', {
          url: `${record.url}?intent=approve`,
          style: 'primary',
        }),
        button('gatehouse.open_deny', 'Deny', {
          url: `${record.url}?intent=deny`,
          style: 'danger',
        }),
        review,
      ]
  return { type: 'actions', block_id: 'gatehouse.decision', elements }
}

function footer(record: ApprovalRecord): SlackBlock {
  const text = `Approval ${fitMrkdwn(record.id, NAME_MAX)} · requested ${slackDate(record.requestedAt)}`
  return { type: 'context', elements: [mrkdwn(text)] }
}

const CHANNEL_NAMES: Record<DecisionChannel, string> = {
  web: 'the approval page',
  slack: 'Slack',
  api: 'the API',
}

function describeOutcome(record: ApprovalRecord): { title: string; line: string } {
  const decision = record.decision
  if ((record.state === 'approved' || record.state === 'denied') && decision) {
    const title = record.state === 'approved' ? 'Approved' : 'Denied'
    const icon = record.state === 'approved' ? ':white_check_mark:' : ':no_entry:'
    const by = decision.by.email ? `${decision.by.name} (${decision.by.email})` : decision.by.name
    const head = `${icon} *${title}* by ${fitMrkdwn(by, NAME_MAX)} via ${CHANNEL_NAMES[decision.via]} ${slackDate(decision.at)}`
    const comment = decision.comment ? `\nComment: ${fitMrkdwn(decision.comment, REASON_MAX)}` : ''
    return { title, line: head + comment }
  }
  if (record.state === 'expired') {
    const at = slackDate(record.endedAt ?? record.expiresAt)
    return { title: 'Expired', line: `:hourglass: *Expired* without a decision ${at}` }
  }
  if (record.state === 'cancelled') {
    const why = fitMrkdwn(record.endedReason ?? 'the request ended before a decision', REASON_MAX)
    return { title: 'Cancelled', line: `:heavy_multiplication_x: *Cancelled*: ${why}` }
  }
  return {
    title: 'Approval needed',
    line: ':hourglass_flowing_sand: Still waiting for a decision.',
  }
}

function fallbackText(title: string, record: ApprovalRecord): string {
  const part = (text: string) => fitMrkdwn(text.replace(/\s+/g, ' '), FALLBACK_PART_MAX)
  // Each part is bounded, so the line stays far below SLACK_FALLBACK_TEXT_MAX.
  return `${title}: ${part(record.requester.name)} → ${part(record.connection.name)}: ${part(record.summary)}`
}

function field(label: string, value: string): SlackMrkdwn {
  const prefix = `*${label}*\n`
  return mrkdwn(prefix + fitMrkdwn(value, SLACK_FIELD_TEXT_MAX - prefix.length))
}

function header(text: string): SlackBlock {
  return { type: 'header', text: plain(fitPlain(text, SLACK_HEADER_TEXT_MAX)) }
}

function button(
  actionId: string,
  text: string,
  rest: Omit<SlackButton, 'type' | 'action_id' | 'text'>
): SlackButton {
  return {
    type: 'button',
    action_id: actionId,
    text: plain(fitPlain(text, SLACK_BUTTON_TEXT_MAX)),
    ...rest,
  }
}

function plain(text: string): SlackPlainText {
  return { type: 'plain_text', text }
}

function mrkdwn(text: string): SlackMrkdwn {
  return { type: 'mrkdwn', text }
}

/**
 * Slack formats dates in each reader's own time zone; the part after `|` is shown by
 * clients that cannot. Only digits and ISO characters go in, so nothing needs escaping.
 */
function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  const fallback = Number.isFinite(ms) ? new Date(seconds * 1000).toISOString() : 'unknown'
  return `<!date^${seconds}^{date_short_pretty} at {time}|${fallback}>`
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }
const ELLIPSIS = '…'

/** Slack mrkdwn: `&`, `<` and `>` are control characters everywhere, even in code blocks. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (char) => ESCAPES[char] ?? char)
}

/**
 * Escapes `raw` and keeps at most `max` UTF-16 units, cutting between code points and
 * escape sequences, never inside one. Lone surrogates become U+FFFD.
 */
function fitMrkdwn(raw: string, max: number): string {
  const text = raw.toWellFormed()
  const whole = escapeMrkdwn(text)
  return whole.length <= max ? whole : cut(codePoints(text, true), max)
}

/** Plain text (header, buttons, notification line before escaping): code points only. */
function fitPlain(raw: string, max: number): string {
  const text = raw.toWellFormed()
  return text.length <= max ? text : cut(codePoints(text, false), max)
}

function cut(pieces: Iterable<string>, max: number): string {
  let out = ''
  for (const piece of pieces) {
    if (out.length + piece.length + ELLIPSIS.length > max) break
    out += piece
  }
  return out + ELLIPSIS
}

function* codePoints(text: string, escaping: boolean): Iterable<string> {
  for (const char of text) yield escaping ? (ESCAPES[char] ?? char) : char
}

/**
 * A fenced code block the command cannot leave: a zero-width space after every backtick
 * that precedes another means no run of three ever forms inside it.
 */
function codeBlock(raw: string, max: number): string {
  const fence = '```'
  const defused = raw.toWellFormed().replace(/`(?=`)/g, '`\u200b')
  return `${fence}\n${fitMrkdwn(defused, max - 2 * fence.length - 2)}\n${fence}`
}
