import { describe, expect, it } from 'vitest'
import { verifySlackRequest } from '../../../src/approvals/slack/signature.ts'
import { GatehouseError } from '../../../src/errors.ts'

const SECRET = 'test-signing-secret-0123456789abcdef'
const NOW_MS = 1_750_000_000_000
const NOW_S = NOW_MS / 1000
const BODY = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' } }))}`

/** The signature computed here with WebCrypto's sign, independently of the code under test. */
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

function headers(signature: string | null, timestamp: string | null): Headers {
  const result = new Headers()
  if (signature !== null) result.set('X-Slack-Signature', signature)
  if (timestamp !== null) result.set('X-Slack-Request-Timestamp', timestamp)
  return result
}

async function refusal(promise: Promise<void>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown
  )
  expect(error).toBeInstanceOf(GatehouseError)
  const { code, message } = error as GatehouseError
  return { code, message }
}

describe('verifySlackRequest', () => {
  it("accepts Slack's published example request", async () => {
    // api.slack.com/authentication/verifying-requests-from-slack, "Validating a request".
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
      '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c'
    const signature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503'
    await expect(
      verifySlackRequest(
        '8f742231b10e8888abcd99yyyzzz85a5',
        headers(signature, '1531420618'),
        body,
        1531420618 * 1000 + 12_000
      )
    ).resolves.toBeUndefined()
  })

  it('accepts a request signed now with the signing secret', async () => {
    const timestamp = String(NOW_S)
    const signature = await sign(SECRET, timestamp, BODY)
    await expect(
      verifySlackRequest(SECRET, headers(signature, timestamp), BODY, NOW_MS)
    ).resolves.toBeUndefined()
  })

  it('accepts timestamps up to five minutes either side of now', async () => {
    for (const offset of [-300, 300]) {
      const timestamp = String(NOW_S + offset)
      const signature = await sign(SECRET, timestamp, BODY)
      await expect(
        verifySlackRequest(SECRET, headers(signature, timestamp), BODY, NOW_MS)
      ).resolves.toBeUndefined()
    }
  })

  it('refuses a request signed with another secret', async () => {
    const timestamp = String(NOW_S)
    const signature = await sign('someone-elses-secret', timestamp, BODY)
    expect(
      await refusal(verifySlackRequest(SECRET, headers(signature, timestamp), BODY, NOW_MS))
    ).toEqual({
      code: 'slack.invalid_signature',
      message: 'The Slack request signature is invalid.',
    })
  })

  it('refuses a body modified after signing', async () => {
    const timestamp = String(NOW_S)
    const signature = await sign(SECRET, timestamp, BODY)
    const tampered = BODY.replace('U1', 'U2')
    expect(
      (await refusal(verifySlackRequest(SECRET, headers(signature, timestamp), tampered, NOW_MS)))
        .code
    ).toBe('slack.invalid_signature')
  })

  it('refuses a signature replayed with a fresher timestamp header', async () => {
    const signature = await sign(SECRET, String(NOW_S - 600), BODY)
    expect(
      (await refusal(verifySlackRequest(SECRET, headers(signature, String(NOW_S)), BODY, NOW_MS)))
        .code
    ).toBe('slack.invalid_signature')
  })

  it('refuses a signature version other than v0', async () => {
    const timestamp = String(NOW_S)
    const v1 = (await sign(SECRET, timestamp, BODY)).replace(/^v0=/, 'v1=')
    expect(
      (await refusal(verifySlackRequest(SECRET, headers(v1, timestamp), BODY, NOW_MS))).code
    ).toBe('slack.invalid_signature')
  })

  it('refuses malformed signatures', async () => {
    const timestamp = String(NOW_S)
    const good = await sign(SECRET, timestamp, BODY)
    for (const signature of ['', 'v0=', good.slice(0, -2), `${good}00`, `${good.slice(0, -1)}g`]) {
      expect(
        (await refusal(verifySlackRequest(SECRET, headers(signature, timestamp), BODY, NOW_MS)))
          .code,
        signature
      ).toBe('slack.invalid_signature')
    }
  })

  it('refuses a request missing either header', async () => {
    const timestamp = String(NOW_S)
    const signature = await sign(SECRET, timestamp, BODY)
    for (const h of [headers(null, timestamp), headers(signature, null), headers(null, null)]) {
      expect((await refusal(verifySlackRequest(SECRET, h, BODY, NOW_MS))).code).toBe(
        'slack.invalid_signature'
      )
    }
  })

  it('refuses malformed timestamps', async () => {
    for (const timestamp of ['', 'abc', '1.5', '-1', `${NOW_S}x`, '1e9', '9'.repeat(13)]) {
      const signature = await sign(SECRET, timestamp, BODY)
      expect(
        (await refusal(verifySlackRequest(SECRET, headers(signature, timestamp), BODY, NOW_MS)))
          .code,
        timestamp
      ).toBe('slack.invalid_signature')
    }
  })

  it('refuses correctly signed requests more than five minutes old or ahead', async () => {
    for (const offset of [-301, 301, -86_400]) {
      const timestamp = String(NOW_S + offset)
      const signature = await sign(SECRET, timestamp, BODY)
      expect(
        await refusal(verifySlackRequest(SECRET, headers(signature, timestamp), BODY, NOW_MS))
      ).toEqual({
        code: 'slack.stale_request',
        message: 'The Slack request is too old (or from the future); check the gateway clock.',
      })
    }
  })
})
