import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { alertSessionKilled } from '../../src/alerts/notify.ts'
import { alertMessage } from '../../src/alerts/slack-alert.ts'
import { loadConfig } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { createGateway } from '../../src/pipeline/gateway.ts'
import { decideWith, personToken } from './support/approvals.ts'
import {
  adminJson,
  applyPolicy,
  asAgent,
  closedSession,
  errorOf,
  GATEWAY,
  gatewayFetch,
  originUrl,
  putHttpConnection,
} from './support/gateway.ts'
import { uniqueMarker } from './support/origin.ts'
import {
  type SinkRequest,
  signatureValid,
  sinkReceived,
  sinkUrl,
  waitForSink,
} from './support/webhook-sink.ts'

const CONNECTION = 'alert-api'
/** The Worker's own alert webhook and secret (vitest.config.ts). */
const BOUND_ALERTS = `${inject('slackUrl')}/webhook-sink/alerts`
const ALERT_SECRET = 'alert-webhook-secret-for-the-tests'

let agentToken: string
let dave: string

beforeAll(async () => {
  await putHttpConnection(CONNECTION, { url: originUrl() })
  await applyPolicy({
    version: 1,
    groups: { 'alert-approvers': { members: ['idp:alert-approvers'] } },
    connections: {
      [CONNECTION]: {
        grants: ['agent:alert-agent'],
        approval: { approvers: ['group:alert-approvers'] },
        rules: [
          {
            name: 'no-deletes',
            match: { methods: ['DELETE'] },
            action: 'block',
            reason: 'Deletes are not allowed.',
          },
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            reason: 'Moving money needs a human.',
          },
          {
            name: 'expiring',
            match: { methods: ['POST'], paths: ['/expiring/**'] },
            action: 'require_approval',
            expiresAfter: '1s',
          },
          { name: 'the-rest', action: 'allow' },
        ],
      },
    },
  })
  ;({ token: agentToken } = await adminJson<{ token: string }>(
    'POST',
    '/tokens',
    { name: 'alert-agent', owner: 'olivia@example.com', connections: [CONNECTION] },
    201
  ))
  dave = await personToken('dave', ['alert-approvers'])
})

afterEach(() => {
  vi.restoreAllMocks()
})

function deleteRequest(marker: string): Request {
  return new Request(
    `${GATEWAY}/proxy/${CONNECTION}/records/${marker}`,
    asAgent(agentToken, { method: 'DELETE' })
  )
}

/** The real Worker with some settings changed; waits for its waitUntil work. */
async function fetchWith(request: Request, settings: Record<string, string>) {
  const ctx = createExecutionContext()
  const response = await worker.fetch(request, { ...env, ...settings } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

function bodyOf(request: SinkRequest): Record<string, unknown> {
  return request.body as Record<string, unknown>
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe('command.blocked', () => {
  it('posts a signed alert with the rule, the reason and a replay link when policy blocks a command', async () => {
    const before = Date.now()
    const response = await gatewayFetch(
      `/proxy/${CONNECTION}/records/${uniqueMarker('blocked')}`,
      asAgent(agentToken, { method: 'DELETE' })
    )
    expect(await errorOf(response.clone())).toMatchObject({ status: 403, code: 'policy.blocked' })
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''

    const received = await waitForSink(BOUND_ALERTS, (r) => bodyOf(r).session === sessionId)
    expect(received.body).toEqual({
      type: 'command.blocked',
      at: expect.stringMatching(ISO_TIME),
      session: sessionId,
      connection: CONNECTION,
      caller: { id: 'agent:alert-agent', name: 'alert-agent' },
      rule: 'no-deletes',
      reason: 'Deletes are not allowed.',
      link: `https://gatehouse.test/ui/sessions/${sessionId}`,
      approval: null,
      by: null,
    })
    const at = Date.parse(String(bodyOf(received).at))
    expect(at).toBeGreaterThanOrEqual(before)
    expect(at).toBeLessThanOrEqual(Date.now())
    expect(received.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(received.headers['x-gatehouse-event']).toBe('command.blocked')
    expect(
      await signatureValid(ALERT_SECRET, received.headers['x-gatehouse-signature'], received.raw)
    ).toBe(true)
  })

  it('signs the exact body: a changed byte or another secret does not verify', async () => {
    const response = await gatewayFetch(
      `/proxy/${CONNECTION}/records/${uniqueMarker('tamper')}`,
      asAgent(agentToken, { method: 'DELETE' })
    )
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    await response.body?.cancel()
    const received = await waitForSink(BOUND_ALERTS, (r) => bodyOf(r).session === sessionId)
    const signature = received.headers['x-gatehouse-signature']
    expect(await signatureValid(ALERT_SECRET, signature, received.raw)).toBe(true)
    expect(await signatureValid('another-secret', signature, received.raw)).toBe(false)
    const tampered = received.raw.replace('"rule":"no-deletes"', '"rule":"no-delete"')
    expect(await signatureValid(ALERT_SECRET, signature, tampered)).toBe(false)
    // Replayed much later, the timestamp gives it away.
    expect(await signatureValid(ALERT_SECRET, signature, received.raw, Date.now() + 600_000)).toBe(
      false
    )
  })

  it('sends nothing for a command the policy allows', async () => {
    const response = await gatewayFetch(
      `/proxy/${CONNECTION}/records/${uniqueMarker('allowed')}`,
      asAgent(agentToken)
    )
    expect(response.status).toBe(200)
    await response.body?.cancel()
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    await closedSession(sessionId)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(
      (await sinkReceived(BOUND_ALERTS)).filter((r) => bodyOf(r).session === sessionId)
    ).toEqual([])
  })

  it('sends an unsigned alert when ALERT_WEBHOOK_SECRET is not set', async () => {
    const url = sinkUrl('unsigned')
    const response = await fetchWith(deleteRequest(uniqueMarker('unsigned')), {
      ALERT_WEBHOOK_URL: url,
      ALERT_WEBHOOK_SECRET: '',
    })
    expect(response.status).toBe(403)
    const [received, ...more] = await sinkReceived(url)
    expect(more).toEqual([])
    expect(bodyOf(received as SinkRequest).type).toBe('command.blocked')
    expect(received?.headers['x-gatehouse-signature']).toBeUndefined()
  })

  it('posts only the events ALERT_EVENTS lists', async () => {
    const url = sinkUrl('filtered')
    const response = await fetchWith(deleteRequest(uniqueMarker('filtered')), {
      ALERT_WEBHOOK_URL: url,
      ALERT_EVENTS: 'approval.denied, session.killed',
    })
    expect(response.status).toBe(403)
    expect(await sinkReceived(url)).toEqual([])
  })

  it('answers the caller the same when the receiver fails or cannot be reached, and logs it', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const failing = sinkUrl('failing', 500)
    const refused = await fetchWith(deleteRequest(uniqueMarker('failing')), {
      ALERT_WEBHOOK_URL: failing,
    })
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: 'policy.blocked' })
    expect(await sinkReceived(failing)).toHaveLength(1)

    const unreachable = `http://127.0.0.1:${inject('deadPort')}/alerts`
    const again = await fetchWith(deleteRequest(uniqueMarker('unreachable')), {
      ALERT_WEBHOOK_URL: unreachable,
    })
    expect(await errorOf(again)).toMatchObject({ status: 403, code: 'policy.blocked' })

    const logged = errors.mock.calls
      .filter(([message]) => message === 'sending an alert failed')
      .map(([, details]) => (details as { cause: string }).cause)
    expect(logged).toEqual([
      'the alert webhook answered HTTP 500',
      'the webhook could not be reached',
    ])
    // Neither log line carries the receiver's URL (it may embed a token).
    expect(JSON.stringify(errors.mock.calls)).not.toContain('webhook-sink/500')
  })
})

describe('Slack', () => {
  it('posts the alert to the Slack webhook when ALERT_SLACK is on', async () => {
    const slackWebhook = `${inject('slackUrl')}/webhook/T000/B000/alerts-${crypto.randomUUID()}`
    const response = await fetchWith(deleteRequest(uniqueMarker('slack')), {
      ALERT_SLACK: 'on',
      ALERT_WEBHOOK_URL: '',
      SLACK_WEBHOOK_URL: slackWebhook,
    })
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    const [posted, ...more] = await sinkReceived(slackWebhook)
    expect(more).toEqual([])
    expect(posted?.body).toEqual({
      text: `Gatehouse: Command blocked: alert-agent on ${CONNECTION}`,
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: [
              `*Command blocked*: alert-agent on \`${CONNECTION}\``,
              'Rule: `no-deletes`',
              'Deletes are not allowed.',
              `<https://gatehouse.test/ui/sessions/${sessionId}|Open the replay>`,
            ].join('\n'),
          },
        },
      ],
    })
  })

  it('escapes mrkdwn in names, rules and reasons', () => {
    const message = alertMessage({
      type: 'approval.denied',
      at: '2026-11-23T09:00:00.000Z',
      session: 's',
      connection: 'db<prod>',
      caller: { id: 'agent:a&b', name: 'a&b' },
      rule: 'r>1',
      reason: 'Denied by <!channel>: no',
      link: 'https://gatehouse.test/ui/sessions/s',
      approval: 'ap',
      by: 'user:dave',
    })
    expect(message.blocks).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: [
            '*Approval denied*: a&amp;b on `db&lt;prod&gt;`',
            'Rule: `r&gt;1`',
            'Denied by &lt;!channel&gt;: no',
            'By: user:dave',
            '<https://gatehouse.test/ui/sessions/s|Open the replay>',
          ].join('\n'),
        },
      },
    ])
  })
})

describe('approvals', () => {
  it('alerts when an approver denies a held command, naming the approver and their comment', async () => {
    const marker = uniqueMarker('deny')
    const held = await gatewayFetch(
      `/proxy/${CONNECTION}/payments/${marker}`,
      asAgent(agentToken, { method: 'POST', body: '{}', headers: { prefer: 'wait=0' } })
    )
    expect(held.status).toBe(202)
    await held.body?.cancel()
    const approvalId = held.headers.get('x-gatehouse-approval') ?? ''
    const sessionId = held.headers.get('x-gatehouse-session') ?? ''
    expect((await decideWith(dave, approvalId, 'deny', 'not today')).status).toBe(200)

    const received = await waitForSink(BOUND_ALERTS, (r) => bodyOf(r).approval === approvalId)
    expect(received.body).toEqual({
      type: 'approval.denied',
      at: expect.stringMatching(ISO_TIME),
      session: sessionId,
      connection: CONNECTION,
      caller: { id: 'agent:alert-agent', name: 'alert-agent' },
      rule: 'payments',
      reason: 'Denied by dave: not today',
      link: `https://gatehouse.test/ui/sessions/${sessionId}`,
      approval: approvalId,
      by: 'user:dave',
    })
    expect(received.headers['x-gatehouse-event']).toBe('approval.denied')
    expect(
      await signatureValid(ALERT_SECRET, received.headers['x-gatehouse-signature'], received.raw)
    ).toBe(true)
  })

  it('alerts when an approval expires with nobody deciding', async () => {
    const marker = uniqueMarker('expire')
    const response = await gatewayFetch(
      `/proxy/${CONNECTION}/expiring/${marker}`,
      asAgent(agentToken, { method: 'POST', body: 'x' })
    )
    expect(await errorOf(response.clone())).toMatchObject({ status: 403, code: 'approval.expired' })
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    const received = await waitForSink(
      BOUND_ALERTS,
      (r) => bodyOf(r).session === sessionId && bodyOf(r).type === 'approval.expired'
    )
    expect(received.body).toEqual({
      type: 'approval.expired',
      at: expect.stringMatching(ISO_TIME),
      session: sessionId,
      connection: CONNECTION,
      caller: { id: 'agent:alert-agent', name: 'alert-agent' },
      rule: 'expiring',
      reason: 'Nobody decided before the approval expired.',
      link: `https://gatehouse.test/ui/sessions/${sessionId}`,
      approval: expect.stringMatching(/^[0-9a-f]{64}$/),
      by: null,
    })
  })
})

describe('session.killed', () => {
  it('names the killed session, its connection and caller (from the index), and who killed it', async () => {
    const response = await gatewayFetch(
      `/proxy/${CONNECTION}/records/${uniqueMarker('killed')}`,
      asAgent(agentToken)
    )
    await response.body?.cancel()
    const sessionId = response.headers.get('x-gatehouse-session') ?? ''
    await closedSession(sessionId)

    const url = sinkUrl('killed')
    const ctx = createExecutionContext()
    const gateway = createGateway(
      { ...env, ALERT_WEBHOOK_URL: url } as Env,
      (promise) => ctx.waitUntil(promise),
      `${GATEWAY}/v1/admin/sessions/${sessionId}/kill`
    )
    alertSessionKilled(gateway, {
      sessionId,
      by: 'admin:bootstrap',
      reason: 'Contained during an incident.',
    })
    await waitOnExecutionContext(ctx)
    const [received] = await sinkReceived(url)
    expect(received?.body).toEqual({
      type: 'session.killed',
      at: expect.stringMatching(ISO_TIME),
      session: sessionId,
      connection: CONNECTION,
      caller: { id: 'agent:alert-agent', name: 'alert-agent' },
      rule: null,
      reason: 'Contained during an incident.',
      link: `https://gatehouse.test/ui/sessions/${sessionId}`,
      approval: null,
      by: 'admin:bootstrap',
    })
  })
})

describe('configuration', () => {
  const secrets = {
    ADMIN_TOKEN: 'x'.repeat(32),
    CREDENTIALS_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(1))),
  }

  it('defaults to every event, no webhook and Slack off', () => {
    expect(loadConfig({ ...secrets }).alerts).toEqual({
      webhook: undefined,
      slack: false,
      events: ['command.blocked', 'approval.denied', 'approval.expired', 'session.killed'],
    })
  })

  it('names an unknown alert event and a bad ALERT_SLACK value', () => {
    expect(() =>
      loadConfig({
        ...secrets,
        ALERT_EVENTS: 'command.blocked,command.allowed',
        ALERT_SLACK: 'yes',
      })
    ).toThrow(
      'Gateway configuration is invalid: ALERT_SLACK must be on or off; ALERT_EVENTS.1 must list only command.blocked, approval.denied, approval.expired, session.killed'
    )
  })
})
