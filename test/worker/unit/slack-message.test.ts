import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  approvalMessage,
  outcomeMessage,
  SLACK_BUTTON_TEXT_MAX,
  SLACK_FALLBACK_TEXT_MAX,
  SLACK_FIELD_TEXT_MAX,
  SLACK_HEADER_TEXT_MAX,
  SLACK_SECTION_TEXT_MAX,
  type SlackBlock,
  type SlackMessage,
} from '../../../src/approvals/slack/message.ts'
import type { ApprovalRecord } from '../../../src/approvals/types.ts'

const REQUESTED_AT = Date.UTC(2025, 0, 2, 3, 4, 5)
const EXPIRES_AT = Date.UTC(2025, 0, 2, 3, 19, 5)
const REQUESTED = '<!date^1735787045^{date_short_pretty} at {time}|2025-01-02T03:04:05.000Z>'
const EXPIRES = '<!date^1735787945^{date_short_pretty} at {time}|2025-01-02T03:19:05.000Z>'

const RECORD: ApprovalRecord = {
  id: 'apr_123',
  sessionId: 'ses_1',
  commandSeq: 3,
  requester: {
    id: 'agent:deploy-bot',
    name: 'deploy-bot',
    via: 'agent_token',
    owner: 'user:alice@example.com',
  },
  connection: { id: 'con_1', name: 'payments', kind: 'http' },
  command: { kind: 'http', method: 'POST', path: '/payments', query: '', headers: {}, body: null },
  commandHash: 'ab'.repeat(32),
  summary: 'POST /payments',
  rule: 'payments-need-approval',
  reason: 'Money moves',
  approvers: ['group:finance'],
  requestedAt: REQUESTED_AT,
  expiresAt: EXPIRES_AT,
  url: 'https://gatehouse.test/approvals/apr_123',
  state: 'pending',
}

const REQUEST_BLOCKS: SlackBlock[] = [
  {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: '*deploy-bot* (agent of user:alice@example.com) asks to run this on *payments* (http):',
    },
  },
  { type: 'section', text: { type: 'mrkdwn', text: '```\nPOST /payments\n```' } },
  {
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: '*Rule*\npayments-need-approval' },
      { type: 'mrkdwn', text: '*Reason*\nMoney moves' },
      { type: 'mrkdwn', text: '*Requester*\nagent:deploy-bot' },
      { type: 'mrkdwn', text: `*Expires*\n${EXPIRES}` },
    ],
  },
]

const FOOTER: SlackBlock = {
  type: 'context',
  elements: [{ type: 'mrkdwn', text: `Approval apr_123 · requested ${REQUESTED}` }],
}

const REVIEW_BUTTON = {
  type: 'button',
  action_id: 'gatehouse.review',
  text: { type: 'plain_text', text: 'Review in Gatehouse' },
  url: 'https://gatehouse.test/approvals/apr_123',
} as const

describe('approvalMessage', () => {
  it('shows who, what, where, why and expiry, with interactive Approve / Deny buttons', () => {
    expect(approvalMessage(RECORD, { interactive: true })).toEqual({
      text: 'Approval needed: deploy-bot → payments: POST /payments',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Approval needed' } },
        ...REQUEST_BLOCKS,
        {
          type: 'actions',
          block_id: 'gatehouse.decision',
          elements: [
            {
              type: 'button',
              action_id: 'gatehouse.approve',
              text: { type: 'plain_text', text: 'Approve' },
              value: 'apr_123',
              style: 'primary',
              confirm: {
                title: { type: 'plain_text', text: 'Approve this command?' },
                text: {
                  type: 'plain_text',
                  text: 'Gatehouse forwards it to the target as soon as you confirm.',
                },
                confirm: { type: 'plain_text', text: 'Approve' },
                deny: { type: 'plain_text', text: 'Cancel' },
              },
            },
            {
              type: 'button',
              action_id: 'gatehouse.deny',
              text: { type: 'plain_text', text: 'Deny' },
              value: 'apr_123',
              style: 'danger',
            },
            REVIEW_BUTTON,
          ],
        },
        FOOTER,
      ],
    })
  })

  it('links Approve / Deny to the approval page when buttons cannot be verified', () => {
    const message = approvalMessage(RECORD, { interactive: false })
    expect(message.blocks[4]).toEqual({
      type: 'actions',
      block_id: 'gatehouse.decision',
      elements: [
        {
          type: 'button',
          action_id: 'gatehouse.open_approve',
          text: { type: 'plain_text', text: 'Approve' },
          url: 'https://gatehouse.test/approvals/apr_123?intent=approve',
          style: 'primary',
        },
        {
          type: 'button',
          action_id: 'gatehouse.open_deny',
          text: { type: 'plain_text', text: 'Deny' },
          url: 'https://gatehouse.test/approvals/apr_123?intent=deny',
          style: 'danger',
        },
        REVIEW_BUTTON,
      ],
    })
    expect(JSON.stringify(message)).not.toContain('"value"')
  })

  it('names the connection default when no rule matched, and omits a missing owner', () => {
    const { owner: _owner, ...requester } = RECORD.requester
    const message = approvalMessage({ ...RECORD, rule: null, requester }, { interactive: true })
    expect(message.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '*deploy-bot* asks to run this on *payments* (http):' },
    })
    expect(message.blocks[3]).toMatchObject({
      fields: [{ type: 'mrkdwn', text: '*Rule*\n(connection default)' }, {}, {}, {}],
    })
  })

  it('escapes mrkdwn control characters in every value from outside', () => {
    const message = approvalMessage(
      {
        ...RECORD,
        requester: { ...RECORD.requester, name: '<!channel> & <@U123>' },
        connection: { ...RECORD.connection, name: 'a>b' },
        summary: 'SELECT 1 WHERE a < b && c > d',
        rule: '<https://evil.example|click>',
        reason: 'x&y',
      },
      { interactive: true }
    )
    expect(message.text).toBe(
      'Approval needed: &lt;!channel&gt; &amp; &lt;@U123&gt; → a&gt;b: SELECT 1 WHERE a &lt; b &amp;&amp; c &gt; d'
    )
    expect(message.blocks.slice(1, 4)).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*&lt;!channel&gt; &amp; &lt;@U123&gt;* (agent of user:alice@example.com) asks to run ' +
            'this on *a&gt;b* (http):',
        },
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '```\nSELECT 1 WHERE a &lt; b &amp;&amp; c &gt; d\n```' },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Rule*\n&lt;https://evil.example|click&gt;' },
          { type: 'mrkdwn', text: '*Reason*\nx&amp;y' },
          { type: 'mrkdwn', text: '*Requester*\nagent:deploy-bot' },
          { type: 'mrkdwn', text: `*Expires*\n${EXPIRES}` },
        ],
      },
    ])
  })

  it('keeps a command containing ``` inside its code block', () => {
    const message = approvalMessage(
      { ...RECORD, summary: "SELECT '```' || '``'; ```\n<!here>" },
      { interactive: true }
    )
    expect(message.blocks[2]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: "```\nSELECT '`\u200b`\u200b`' || '`\u200b`'; `\u200b`\u200b`\n&lt;!here&gt;\n```",
      },
    })
  })

  it('cuts a long command to the section limit with an ellipsis', () => {
    const message = approvalMessage(
      { ...RECORD, summary: 'x'.repeat(10_000) },
      { interactive: true }
    )
    const text = sectionText(message.blocks[2])
    expect(text).toBe(`\`\`\`\n${'x'.repeat(SLACK_SECTION_TEXT_MAX - 9)}…\n\`\`\``)
    expect(text).toHaveLength(SLACK_SECTION_TEXT_MAX)
  })

  it('never cuts inside an escape sequence or a surrogate pair', () => {
    const ampersands = approvalMessage(
      { ...RECORD, summary: '&'.repeat(5000) },
      { interactive: true }
    )
    const body = codeBody(sectionText(ampersands.blocks[2]))
    expect(body).toMatch(/^(&amp;)+…$/)

    const emoji = approvalMessage({ ...RECORD, summary: '😀'.repeat(5000) }, { interactive: true })
    const emojiBody = codeBody(sectionText(emoji.blocks[2]))
    expect(emojiBody).toMatch(/^(😀)+…$/u)
    expect(emojiBody.isWellFormed()).toBe(true)
  })

  it('replaces lone surrogates so the JSON Slack receives is valid UTF-16', () => {
    const message = approvalMessage(
      { ...RECORD, summary: 'a\ud800b', reason: '\udc00' },
      { interactive: true }
    )
    expect(sectionText(message.blocks[2])).toBe('```\na\ufffdb\n```')
    expect(message.blocks[3]).toMatchObject({
      fields: [{}, { type: 'mrkdwn', text: '*Reason*\n\ufffd' }, {}, {}],
    })
  })
})

describe('outcomeMessage', () => {
  it('replaces the buttons with who approved, how and when', () => {
    const at = Date.UTC(2025, 0, 2, 3, 10, 0)
    const record: ApprovalRecord = {
      ...RECORD,
      state: 'approved',
      decision: {
        verdict: 'approve',
        by: { id: 'user:bob', name: 'bob', email: 'bob@example.com', proof: 'slack:U2' },
        via: 'slack',
        at,
        comment: 'ok <for> today',
      },
      endedAt: at,
    }
    expect(outcomeMessage(record)).toEqual({
      text: 'Approved: deploy-bot → payments: POST /payments',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Approved' } },
        ...REQUEST_BLOCKS,
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text:
              ':white_check_mark: *Approved* by bob (bob@example.com) via Slack ' +
              '<!date^1735787400^{date_short_pretty} at {time}|2025-01-02T03:10:00.000Z>' +
              '\nComment: ok &lt;for&gt; today',
          },
        },
        FOOTER,
      ],
    })
  })

  it('states a denial and the channel it came through', () => {
    const message = outcomeMessage({
      ...RECORD,
      state: 'denied',
      decision: {
        verdict: 'deny',
        by: { id: 'user:carol', name: 'carol', proof: 'oidc' },
        via: 'web',
        at: EXPIRES_AT,
      },
    })
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Denied' },
    })
    expect(sectionText(message.blocks[4])).toBe(
      `:no_entry: *Denied* by carol via the approval page ${EXPIRES}`
    )
    expect(JSON.stringify(message)).not.toContain('"actions"')
  })

  it('states an expiry', () => {
    const message = outcomeMessage({ ...RECORD, state: 'expired' })
    expect(message.text).toBe('Expired: deploy-bot → payments: POST /payments')
    expect(sectionText(message.blocks[4])).toBe(
      `:hourglass: *Expired* without a decision ${EXPIRES}`
    )
  })

  it('states a cancellation with its escaped reason', () => {
    const message = outcomeMessage({
      ...RECORD,
      state: 'cancelled',
      endedReason: 'the client <hung up>',
    })
    expect(sectionText(message.blocks[4])).toBe(
      ':heavy_multiplication_x: *Cancelled*: the client &lt;hung up&gt;'
    )
  })
})

/** Text that mixes everything that could break mrkdwn, code fences or UTF-16. */
const hostileText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('`', '```', '&', '<', '>', '&amp;', '&lt', '😀', '\n', '<!channel>', '|'),
      fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
    ),
    maxLength,
  })

const hostileRecord = fc
  .record({
    summary: hostileText(4000),
    name: hostileText(700),
    owner: fc.option(hostileText(700), { nil: undefined }),
    connection: hostileText(700),
    id: hostileText(700),
    rule: fc.option(hostileText(2500), { nil: null }),
    reason: hostileText(2500),
    comment: fc.option(hostileText(2500), { nil: undefined }),
    endedReason: fc.option(hostileText(2500), { nil: undefined }),
    state: fc.constantFrom<ApprovalRecord['state']>(
      'pending',
      'approved',
      'denied',
      'expired',
      'cancelled'
    ),
  })
  .map(
    (v): ApprovalRecord => ({
      ...RECORD,
      id: v.id,
      summary: v.summary,
      requester: {
        ...RECORD.requester,
        id: v.name,
        name: v.name,
        ...(v.owner === undefined ? {} : { owner: v.owner }),
      },
      connection: { ...RECORD.connection, name: v.connection },
      rule: v.rule,
      reason: v.reason,
      state: v.state,
      ...(v.endedReason === undefined ? {} : { endedReason: v.endedReason }),
      ...(v.state === 'approved' || v.state === 'denied'
        ? {
            decision: {
              verdict: v.state === 'approved' ? 'approve' : 'deny',
              by: { id: `user:${v.name}`, name: v.name, email: v.connection, proof: 'test' },
              via: 'slack',
              at: EXPIRES_AT,
              ...(v.comment === undefined ? {} : { comment: v.comment }),
            },
          }
        : {}),
    })
  )

const DATE_TOKEN = /<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[0-9TZ:.-]+>/g

/** Every `<`, `>` and `&` in mrkdwn is ours (date tokens) or part of an escape. */
function assertEscaped(text: string) {
  const rest = text.replace(DATE_TOKEN, '')
  expect(rest).not.toMatch(/[<>]/)
  expect(rest.replace(/&(amp|lt|gt);/g, '')).not.toContain('&')
}

function assertWithinLimits(message: SlackMessage) {
  expect(message.text.length).toBeLessThanOrEqual(SLACK_FALLBACK_TEXT_MAX)
  expect(message.text.isWellFormed()).toBe(true)
  assertEscaped(message.text)
  for (const block of message.blocks) {
    if (block.type === 'header') {
      expect(block.text.text.length).toBeLessThanOrEqual(SLACK_HEADER_TEXT_MAX)
    } else if (block.type === 'section' && 'text' in block) {
      expect(block.text.text.length).toBeLessThanOrEqual(SLACK_SECTION_TEXT_MAX)
      assertEscaped(block.text.text)
    } else if (block.type === 'section') {
      for (const field of block.fields) {
        expect(field.text.length).toBeLessThanOrEqual(SLACK_FIELD_TEXT_MAX)
        assertEscaped(field.text)
      }
    } else if (block.type === 'actions') {
      for (const button of block.elements) {
        expect(button.text.text.length).toBeLessThanOrEqual(SLACK_BUTTON_TEXT_MAX)
      }
    } else {
      for (const element of block.elements) {
        expect(element.text.length).toBeLessThanOrEqual(SLACK_SECTION_TEXT_MAX)
        assertEscaped(element.text)
      }
    }
  }
  // Well-formed everywhere: JSON.stringify escapes lone surrogates as \udxxx.
  expect(JSON.stringify(message)).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i)
}

describe('Slack message properties', () => {
  it('stays within Slack limits, escaped and well-formed, whatever the input', () => {
    fc.assert(
      fc.property(hostileRecord, fc.boolean(), (record, interactive) => {
        assertWithinLimits(approvalMessage(record, { interactive }))
        assertWithinLimits(outcomeMessage(record))
      }),
      { numRuns: 150 }
    )
  })

  it('keeps the command inside one code block, whatever it contains', () => {
    fc.assert(
      fc.property(hostileText(4000), (summary) => {
        const text = sectionText(
          approvalMessage({ ...RECORD, summary }, { interactive: true }).blocks[2]
        )
        expect(text.startsWith('```\n')).toBe(true)
        expect(text.endsWith('\n```')).toBe(true)
        expect(codeBody(text)).not.toContain('```')
      }),
      { numRuns: 300 }
    )
  })
})

function sectionText(block: SlackBlock | undefined): string {
  if (block?.type !== 'section' || !('text' in block)) throw new Error('not a text section')
  return block.text.text
}

function codeBody(text: string): string {
  return text.slice('```\n'.length, -'\n```'.length)
}
