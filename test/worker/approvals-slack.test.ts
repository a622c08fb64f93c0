import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { app } from '../../src/app.ts'
import { approvalRow, pendingApproval } from './support/approvals.ts'
import {
  adminJson,
  applyPolicy,
  asAgent,
  errorOf,
  GATEWAY,
  gatewayFetch,
  originUrl,
  putHttpConnection,
} from './support/gateway.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

const SIGNING_SECRET = 'slack-signing-secret-for-the-tests'
const CONNECTION = 'slack-held-api'

let agentToken: string

beforeAll(async () => {
  await putHttpConnection(CONNECTION, { url: originUrl() })
  await applyPolicy({
    version: 1,
    groups: { 'slack-approvers': { members: ['user:alice', 'user:olivia@example.com'] } },
    connections: {
      [CONNECTION]: {
        grants: ['agent:slack-agent'],
        approval: { approvers: ['group:slack-approvers'] },
        rules: [
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            reason: 'Moving money needs a human.',
          },
          { name: 'the-rest', action: 'allow' },
        ],
      },
    },
    slackUsers: {
      U0ALICE: 'user:alice',
      U0OLIVIA: 'user:olivia@example.com',
      U0BOB: 'user:bob',
    },
  })
  ;({ token: agentToken } = await adminJson<{ token: string }>(
    'POST',
    '/tokens',
    { name: 'slack-agent', owner: 'olivia@example.com', connections: [CONNECTION] },
    201
  ))
})

/** A held payment; `wait=0` answers 202 at once instead of holding the caller. */
function pay(marker: string, prefer?: string): Promise<Response> {
  return gatewayFetch(
    `/proxy/${CONNECTION}/payments/${marker}`,
    asAgent(agentToken, {
      method: 'POST',
      body: '{"amount":5}',
      headers: {
        'content-type': 'application/json',
        'x-test-marker': marker,
        ...(prefer ? { prefer } : {}),
      },
    })
  )
}

async function heldApproval(marker: string): Promise<string> {
  const response = await pay(marker, 'wait=0')
  expect(response.status).toBe(202)
  await response.body?.cancel()
  return response.headers.get('x-gatehouse-approval') ?? ''
}

function slackUrl(): string {
  return inject('slackUrl')
}

function uniqueResponseUrl(): string {
  return `${slackUrl()}/response/T0TEST/${crypto.randomUUID()}`
}

/** A block_actions payload as Slack sends it for a button press (trimmed of unused fields). */
function buttonPress(slackUser: string, actionId: string, value: string, responseUrl: string) {
  return {
    type: 'block_actions',
    user: { id: slackUser, username: 'someone', team_id: 'T0TEST' },
    team: { id: 'T0TEST', domain: 'gatehouse-test' },
    api_app_id: 'A0TEST',
    container: { type: 'message', message_ts: '1700000001.000100', channel_id: 'C0TEST' },
    trigger_id: '1.2.3',
    response_url: responseUrl,
    actions: [
      {
        type: 'button',
        block_id: 'gatehouse.decision',
        action_id: actionId,
        value,
        action_ts: '1700000002.000200',
      },
    ],
  }
}

async function sign(secret: string, timestamp: string, body: string): Promise<string> {
  const encoder = new TextEncoder()
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`v0:${timestamp}:${body}`))
  return `v0=${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

type PostOptions = {
  /** Slack settings for this request's Worker env ('' unsets one). */
  slackEnv?: Record<string, string>
  secret?: string
  timestamp?: number
  rawBody?: string
}

/**
 * POSTs to /slack/interactions as Slack would, through the app with the Slack settings
 * given here, and waits for its waitUntil work (the message update) to finish.
 */
async function postInteraction(payload: unknown, options: PostOptions = {}): Promise<Response> {
  const rawBody =
    options.rawBody ?? new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000))
  const request = new Request(`${GATEWAY}/slack/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': await sign(options.secret ?? SIGNING_SECRET, timestamp, rawBody),
    },
    body: rawBody,
  })
  const workerEnv = {
    ...env,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `${slackUrl()}/api`,
    SLACK_BOT_TOKEN: '',
    SLACK_CHANNEL: '',
    SLACK_WEBHOOK_URL: '',
    ...options.slackEnv,
  } as Env
  const ctx = createExecutionContext()
  const response = await app.fetch(request, workerEnv, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

async function ephemeralText(response: Response): Promise<string> {
  expect(response.status).toBe(200)
  const body = (await response.json()) as Record<string, unknown>
  expect(body).toMatchObject({ response_type: 'ephemeral', replace_original: false })
  return String(body.text)
}

type Received = { path: string; body: Record<string, unknown> }

async function receivedAt(url: string): Promise<Received[]> {
  const path = new URL(url).pathname
  const response = await fetch(`${slackUrl()}/__received?path=${encodeURIComponent(path)}`)
  return ((await response.json()) as { received: Received[] }).received
}

describe('deciding from Slack', () => {
  it('approves a held command for a mapped Slack user and replaces the message', async () => {
    const marker = uniqueMarker('slack-approve')
    const held = pay(marker)
    const { id } = await pendingApproval(CONNECTION, marker)
    const responseUrl = uniqueResponseUrl()

    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.approve', id, responseUrl)
    )
    expect(await ephemeralText(answer)).toBe(`You approved approval ${id} as alice.`)

    const response = await held
    expect(response.status).toBe(200)
    await response.body?.cancel()
    expect(await arrivalsWith(marker)).toHaveLength(1)
    expect(await approvalRow(id)).toMatchObject({
      state: 'approved',
      decidedBy: 'user:alice',
      decidedVia: 'slack',
    })

    const [update, ...more] = await receivedAt(responseUrl)
    expect(more).toEqual([])
    expect(update?.body).toMatchObject({
      replace_original: true,
      text: `Approved: slack-agent → ${CONNECTION}: POST /payments/${marker} (12 B body)`,
      blocks: expect.arrayContaining([
        { type: 'header', text: { type: 'plain_text', text: 'Approved' } },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: expect.stringMatching(
              /^:white_check_mark: \*Approved\* by alice via Slack <!date\^/
            ),
          },
        },
      ]),
    })
    expect(JSON.stringify(update?.body)).not.toContain('gatehouse.approve')
  })

  it('denies a held command; the caller gets approval.denied and nothing reaches the origin', async () => {
    const marker = uniqueMarker('slack-deny')
    const held = pay(marker)
    const { id } = await pendingApproval(CONNECTION, marker)

    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.deny', id, uniqueResponseUrl())
    )
    expect(await ephemeralText(answer)).toBe(`You denied approval ${id} as alice.`)
    expect(await errorOf(await held)).toMatchObject({ status: 403, code: 'approval.denied' })
    expect(await arrivalsWith(marker)).toEqual([])
    expect(await approvalRow(id)).toMatchObject({ state: 'denied', decidedVia: 'slack' })
  })

  it('tells an unmapped Slack user so and leaves the approval pending', async () => {
    const id = await heldApproval(uniqueMarker('slack-unmapped'))
    const responseUrl = uniqueResponseUrl()
    const answer = await postInteraction(
      buttonPress('U0STRANGER', 'gatehouse.approve', id, responseUrl)
    )
    expect(await ephemeralText(answer)).toContain(
      'Your Slack account is not mapped to a Gatehouse identity'
    )
    expect((await approvalRow(id)).state).toBe('pending')
    expect(await receivedAt(responseUrl)).toEqual([])
  })

  it("refuses the agent owner's own Slack account as self-approval", async () => {
    const id = await heldApproval(uniqueMarker('slack-self'))
    const answer = await postInteraction(
      buttonPress('U0OLIVIA', 'gatehouse.approve', id, uniqueResponseUrl())
    )
    expect(await ephemeralText(answer)).toBe(
      'Gatehouse did not record your decision: You cannot decide a request you (or your agent) made.'
    )
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('refuses a mapped Slack user who is not among the approvers', async () => {
    const id = await heldApproval(uniqueMarker('slack-outsider'))
    const answer = await postInteraction(
      buttonPress('U0BOB', 'gatehouse.approve', id, uniqueResponseUrl())
    )
    expect(await ephemeralText(answer)).toBe(
      'Gatehouse did not record your decision: You are not one of the approvers this request names.'
    )
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('refuses a second press once the approval is decided', async () => {
    const id = await heldApproval(uniqueMarker('slack-twice'))
    const first = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.deny', id, uniqueResponseUrl())
    )
    expect(await ephemeralText(first)).toBe(`You denied approval ${id} as alice.`)
    const second = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.approve', id, uniqueResponseUrl())
    )
    expect(await ephemeralText(second)).toBe(
      'Gatehouse did not record your decision: This request has already been decided; decisions are final.'
    )
    expect((await approvalRow(id)).state).toBe('denied')
  })

  it('refuses an unknown approval id', async () => {
    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.approve', 'f'.repeat(64), uniqueResponseUrl())
    )
    expect(await ephemeralText(answer)).toBe(
      'Gatehouse did not record your decision: There is no such approval request.'
    )
  })

  it('acknowledges the link button without deciding anything', async () => {
    const id = await heldApproval(uniqueMarker('slack-link'))
    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.review', '', uniqueResponseUrl())
    )
    expect(answer.status).toBe(200)
    expect(await answer.text()).toBe('')
    expect((await approvalRow(id)).state).toBe('pending')
  })
})

/** Set by vitest.config.ts once the Worker's SLACK_* bindings point at the stand-in. */
const boundWebhook = (env as unknown as Record<string, unknown>).SLACK_WEBHOOK_URL

describe('posting to Slack', () => {
  it.skipIf(typeof boundWebhook !== 'string' || boundWebhook === '')(
    'posts each new approval to the webhook with its Approve / Deny buttons',
    async () => {
      const marker = uniqueMarker('slack-post')
      const id = await heldApproval(marker)
      const deadline = Date.now() + 5_000
      let posted: Received | undefined
      while (!posted && Date.now() < deadline) {
        posted = (await receivedAt(String(boundWebhook))).find((request) =>
          String(request.body.text).includes(marker)
        )
        if (!posted) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(posted?.body.text).toBe(
        `Approval needed: slack-agent → ${CONNECTION}: POST /payments/${marker} (12 B body)`
      )
      expect(JSON.stringify(posted?.body.blocks)).toContain(
        `"action_id":"gatehouse.approve","text":{"type":"plain_text","text":"Approve"},"value":"${id}"`
      )
    }
  )
})

describe('what /slack/interactions refuses', () => {
  it('ignores action ids that only exist on Object.prototype', async () => {
    const id = await heldApproval(uniqueMarker('slack-proto'))
    for (const actionId of ['constructor', '__proto__', 'toString']) {
      const answer = await postInteraction(
        buttonPress('U0ALICE', actionId, id, uniqueResponseUrl())
      )
      expect(answer.status, actionId).toBe(200)
      expect(await answer.text()).toBe('')
    }
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('refuses a request signed with another secret, and decides nothing', async () => {
    const id = await heldApproval(uniqueMarker('slack-forged'))
    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.approve', id, uniqueResponseUrl()),
      { secret: 'not-the-signing-secret' }
    )
    expect(await errorOf(answer)).toEqual({
      status: 401,
      code: 'slack.invalid_signature',
      message: 'The Slack request signature is invalid.',
    })
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('refuses a correctly signed request replayed after five minutes', async () => {
    const id = await heldApproval(uniqueMarker('slack-replay'))
    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.approve', id, uniqueResponseUrl()),
      { timestamp: Math.floor(Date.now() / 1000) - 301 }
    )
    expect(await errorOf(answer)).toMatchObject({ status: 401, code: 'slack.stale_request' })
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('refuses a signed body that is not a block_actions payload', async () => {
    for (const rawBody of [
      'payload=not-json',
      'nothing=here',
      `payload=${encodeURIComponent('{"type":"view_submission"}')}`,
    ]) {
      const answer = await postInteraction(null, { rawBody })
      expect(await errorOf(answer), rawBody).toMatchObject({ status: 400, code: 'request.invalid' })
    }
  })

  it('answers 413 to bodies over 64 KiB', async () => {
    const answer = await postInteraction(null, { rawBody: `payload=${'x'.repeat(64 * 1024)}` })
    expect(await errorOf(answer)).toMatchObject({ status: 413, code: 'request.too_large' })
  })

  it('does not exist when no signing secret is configured', async () => {
    const answer = await postInteraction(
      buttonPress('U0ALICE', 'gatehouse.approve', 'f'.repeat(64), uniqueResponseUrl()),
      { slackEnv: { SLACK_SIGNING_SECRET: '' } }
    )
    expect(await errorOf(answer)).toMatchObject({ status: 404, code: 'resource.not_found' })
  })
})
