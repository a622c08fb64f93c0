import { describe, expect, inject, it } from 'vitest'
import { approvalMessage, outcomeMessage } from '../../../src/approvals/slack/message.ts'
import {
  postApprovalMessage,
  type SlackFetch,
  updateApprovalMessage,
} from '../../../src/approvals/slack/notifier.ts'
import type { ApprovalRecord } from '../../../src/approvals/types.ts'
import type { SlackConfig } from '../../../src/config.ts'
import { GatehouseError } from '../../../src/errors.ts'

const TOKEN = 'xoxb-test-token-never-shown'

type Received = {
  method: string
  path: string
  headers: Record<string, string | undefined>
  body: unknown
}

function slackUrl(): string {
  return inject('slackUrl')
}

/** What the Slack stand-in recorded under a path prefix (shared by all test files). */
async function received(pathPrefix: string): Promise<Received[]> {
  const response = await fetch(`${slackUrl()}/__received?path=${encodeURIComponent(pathPrefix)}`)
  return ((await response.json()) as { received: Received[] }).received
}

async function receivedOnChannel(method: string, channel: string): Promise<Received[]> {
  return (await received(`/api/${method}`)).filter(
    (request) => (request.body as { channel?: string }).channel === channel
  )
}

function uniqueChannel(): string {
  return `C${crypto.randomUUID().replaceAll('-', '').toUpperCase()}`
}

function uniqueWebhook(kind = 'T000/B000'): string {
  return `${slackUrl()}/webhook/${kind}/${crypto.randomUUID()}`
}

function config(overrides: Partial<SlackConfig>): SlackConfig {
  return {
    webhookUrl: undefined,
    bot: undefined,
    signingSecret: 'signing-secret',
    apiUrl: `${slackUrl()}/api`,
    ...overrides,
  }
}

function record(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0)
  return {
    id: `apr_${crypto.randomUUID()}`,
    sessionId: 'ses_1',
    commandSeq: 1,
    requester: { id: 'agent:bot', name: 'bot', via: 'agent_token' },
    connection: { id: 'con_1', name: 'db', kind: 'postgres' },
    command: { kind: 'http', method: 'DELETE', path: '/x', query: '', headers: {}, body: null },
    commandHash: '00'.repeat(32),
    summary: 'DELETE /x',
    rule: 'deletes',
    reason: 'Deletes need a human',
    approvers: ['group:ops'],
    requestedAt: now,
    expiresAt: now + 900_000,
    url: 'https://gatehouse.test/approvals/apr_1',
    state: 'pending',
    ...overrides,
  }
}

function decided(base: ApprovalRecord): ApprovalRecord {
  return {
    ...base,
    state: 'denied',
    decision: {
      verdict: 'deny',
      by: { id: 'user:ops@example.com', name: 'ops@example.com', proof: 'oidc' },
      via: 'web',
      at: base.requestedAt + 60_000,
    },
  }
}

/** A fetch that must not be called. */
const noFetch: SlackFetch = () => {
  throw new Error('Slack should not have been called')
}

async function thrown(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught
  )
  expect(error).toBeInstanceOf(GatehouseError)
  return error as GatehouseError
}

describe('postApprovalMessage', () => {
  it('posts through chat.postMessage with the bot token and returns the message reference', async () => {
    const channel = uniqueChannel()
    const approval = record()
    const ref = await postApprovalMessage(config({ bot: { token: TOKEN, channel } }), approval)
    expect(ref).toEqual({ kind: 'bot', channel, ts: expect.stringMatching(/^\d+\.000100$/) })

    const [request, ...more] = await receivedOnChannel('chat.postMessage', channel)
    expect(more).toEqual([])
    expect(request?.method).toBe('POST')
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(request?.body).toEqual({
      channel,
      ...approvalMessage(approval, { interactive: true }),
      unfurl_links: false,
      unfurl_media: false,
    })
  })

  it('prefers the bot token over a webhook', async () => {
    const channel = uniqueChannel()
    const webhookUrl = uniqueWebhook()
    const ref = await postApprovalMessage(
      config({ bot: { token: TOKEN, channel }, webhookUrl }),
      record()
    )
    expect(ref?.kind).toBe('bot')
    expect(await received(new URL(webhookUrl).pathname)).toEqual([])
  })

  it('posts to the incoming webhook, with link buttons when no signing secret is set', async () => {
    const webhookUrl = uniqueWebhook()
    const approval = record()
    const ref = await postApprovalMessage(
      config({ webhookUrl, signingSecret: undefined }),
      approval
    )
    expect(ref).toEqual({ kind: 'webhook' })

    const requests = await received(new URL(webhookUrl).pathname)
    expect(requests.map((r) => r.body)).toEqual([approvalMessage(approval, { interactive: false })])
    expect(requests[0]?.headers.authorization).toBeUndefined()
  })

  it('does nothing when Slack is not configured', async () => {
    await expect(postApprovalMessage(config({}), record(), noFetch)).resolves.toBeNull()
  })

  it('refuses with slack.rejected when Slack answers ok:false, without the token', async () => {
    const error = await thrown(
      postApprovalMessage(config({ bot: { token: TOKEN, channel: 'C_NOT_FOUND' } }), record())
    )
    expect(error.code).toBe('slack.rejected')
    expect(error.message).toBe('Slack chat.postMessage refused the message: channel_not_found.')
    expect(JSON.stringify([error.message, error.detail])).not.toContain(TOKEN)
  })

  it('refuses with slack.rejected when the webhook is gone, without its URL', async () => {
    const webhookUrl = uniqueWebhook('gone')
    const error = await thrown(postApprovalMessage(config({ webhookUrl }), record()))
    expect(error.code).toBe('slack.rejected')
    expect(error.message).toBe('The Slack webhook refused the message: no_service.')
    expect(JSON.stringify([error.message, error.detail])).not.toContain(webhookUrl)
  })

  it('fails with slack.unavailable when Slack answers 5xx', async () => {
    const error = await thrown(
      postApprovalMessage(config({ webhookUrl: uniqueWebhook('broken') }), record())
    )
    expect(error.code).toBe('slack.unavailable')
    expect(error.message).toBe('The Slack webhook failed with HTTP 500.')
  })

  it('fails with slack.unavailable when Slack cannot be reached, without the webhook URL', async () => {
    const webhookUrl = `http://127.0.0.1:${inject('deadPort')}/services/T0/B0/secret-path`
    const error = await thrown(postApprovalMessage(config({ webhookUrl }), record()))
    expect(error.code).toBe('slack.unavailable')
    expect(error.message).toBe('The Slack webhook could not be reached.')
    expect(JSON.stringify([error.message, error.detail])).not.toContain('secret-path')
  })

  it('gives every call a timeout and reports it', async () => {
    const signals: (AbortSignal | null | undefined)[] = []
    const timingOut: SlackFetch = async (_url, init) => {
      signals.push(init.signal)
      throw new DOMException('The operation timed out.', 'TimeoutError')
    }
    const error = await thrown(
      postApprovalMessage(config({ bot: { token: TOKEN, channel: 'C1' } }), record(), timingOut)
    )
    expect(error.code).toBe('slack.unavailable')
    expect(error.message).toBe('Slack chat.postMessage did not answer within 10 s.')
    expect(signals).toHaveLength(1)
    expect(signals[0]).toBeInstanceOf(AbortSignal)
  })
})

describe('updateApprovalMessage', () => {
  it('replaces a bot message through chat.update', async () => {
    const channel = uniqueChannel()
    const bot = { token: TOKEN, channel }
    const posted = record()
    const ref = await postApprovalMessage(config({ bot }), posted)
    if (ref?.kind !== 'bot') throw new Error('expected a bot reference')
    const outcome = decided({ ...posted, slack: ref })
    await updateApprovalMessage(config({ bot }), outcome, {})

    const [update, ...more] = await receivedOnChannel('chat.update', channel)
    expect(more).toEqual([])
    expect(update?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(update?.body).toEqual({ channel, ts: ref.ts, ...outcomeMessage(outcome) })
  })

  it("replaces a webhook message through the interaction's response_url", async () => {
    const webhookUrl = uniqueWebhook()
    const responseUrl = `${slackUrl()}/response/${crypto.randomUUID()}`
    const outcome = decided(record({ slack: { kind: 'webhook' } }))
    await updateApprovalMessage(config({ webhookUrl }), outcome, { responseUrl })

    const requests = await received(new URL(responseUrl).pathname)
    expect(requests.map((r) => r.body)).toEqual([
      { replace_original: true, ...outcomeMessage(outcome) },
    ])
    expect(await received(new URL(webhookUrl).pathname)).toEqual([])
  })

  it('posts a follow-up to the webhook when there is no response_url', async () => {
    const webhookUrl = uniqueWebhook()
    const outcome = decided(record({ slack: { kind: 'webhook' } }))
    await updateApprovalMessage(config({ webhookUrl }), outcome, {})
    expect((await received(new URL(webhookUrl).pathname)).map((r) => r.body)).toEqual([
      outcomeMessage(outcome),
    ])
  })

  it('does nothing for an approval that never reached Slack', async () => {
    const outcome = decided(record())
    await expect(
      updateApprovalMessage(config({ webhookUrl: uniqueWebhook() }), outcome, {}, noFetch)
    ).resolves.toBeUndefined()
  })

  it('refuses to post to a response_url outside Slack', async () => {
    const outcome = decided(record({ slack: { kind: 'webhook' } }))
    const error = await thrown(
      updateApprovalMessage(
        config({ webhookUrl: uniqueWebhook() }),
        outcome,
        { responseUrl: 'https://attacker.example/hook' },
        noFetch
      )
    )
    expect(error.code).toBe('slack.rejected')
    expect(error.message).toBe('The response_url is not a Slack URL.')
  })

  it('surfaces chat.update failures as slack.rejected', async () => {
    const outcome = decided(record({ slack: { kind: 'bot', channel: 'C_NOT_FOUND', ts: '1.2' } }))
    const error = await thrown(
      updateApprovalMessage(config({ bot: { token: TOKEN, channel: 'C1' } }), outcome, {})
    )
    expect(error.code).toBe('slack.rejected')
    expect(error.message).toBe('Slack chat.update refused the message: channel_not_found.')
  })
})
