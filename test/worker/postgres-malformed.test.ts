import fc from 'fast-check'
import { beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { admin, applyPolicy, mintToken } from './support/gateway.ts'
import { PgTunnel, summarize } from './support/pg-tunnel.ts'

let token: string
const control = () => `http://127.0.0.1:${inject('recordingPostgres').controlPort}/received`

async function originReceived(): Promise<{ received: number; sessions: number }> {
  return (await (await fetch(control())).json()) as { received: number; sessions: number }
}

beforeAll(async () => {
  const response = await admin('PUT', '/connections/fakepg', {
    kind: 'postgres',
    target: {
      host: '127.0.0.1',
      port: inject('recordingPostgres').port,
      database: 'app',
      tls: 'disable',
    },
    credential: { type: 'password', username: 'anyone', password: 'unused' },
  })
  expect(response.status).toBe(201)
  // Everything is allowed, so only the codec stands between garbage and the origin.
  await applyPolicy({
    version: 1,
    connections: { fakepg: { grants: ['agent:fuzzer'], default: 'allow' } },
  })
  ;({ token } = await mintToken('fuzzer', ['fakepg']))
})

beforeEach(async () => {
  await (await fetch(control(), { method: 'DELETE' })).body?.cancel()
})

function frame(type: string, body: Uint8Array, declaredLength = body.length + 4): Uint8Array {
  const bytes = new Uint8Array(5 + body.length)
  bytes[0] = type.charCodeAt(0)
  new DataView(bytes.buffer).setInt32(1, declaredLength)
  bytes.set(body, 5)
  return bytes
}

const SYNC = frame('S', new Uint8Array())

/** Sends bytes after login; returns what came back before the gateway closed the tunnel. */
async function sendMalformed(bytes: Uint8Array) {
  const tunnel = await PgTunnel.open('fakepg', token)
  tunnel.send(bytes)
  const result = summarize(await tunnel.closed())
  return result
}

async function expectFatalAndNothingForwarded(bytes: Uint8Array, sqlState = '08P01') {
  const result = await sendMalformed(bytes)
  expect(result.messages.at(-1)).toBe('ErrorResponse')
  expect(result.errors.at(-1)?.code).toBe(sqlState)
  const origin = await originReceived()
  expect(origin.sessions).toBe(1)
  expect(origin.received).toBe(0)
}

describe('malformed client frames', () => {
  it('ends the session on an unknown message type and forwards nothing', async () => {
    await expectFatalAndNothingForwarded(frame('Z', new Uint8Array([1, 2, 3])))
  })

  it('ends the session on a declared length over the cap before buffering the body', async () => {
    await expectFatalAndNothingForwarded(frame('Q', new Uint8Array(8), 64 * 1024 * 1024))
  })

  it('ends the session on a length smaller than the length field itself', async () => {
    await expectFatalAndNothingForwarded(frame('Q', new Uint8Array(), 2))
  })

  it('ends the session on a Query whose text has no terminator', async () => {
    await expectFatalAndNothingForwarded(frame('Q', new TextEncoder().encode('SELECT 1')))
  })

  it('ends the session on a Parse whose fields overrun its length', async () => {
    const parse = frame('P', new Uint8Array([0, 83, 69, 76, 0, 0, 9]))
    await expectFatalAndNothingForwarded(new Uint8Array([...parse, ...SYNC]))
  })

  it('ends the session on a Query that is not valid UTF-8', async () => {
    await expectFatalAndNothingForwarded(frame('Q', new Uint8Array([0xc3, 0x28, 0])))
  })

  it('forwards nothing of a message truncated by the client hanging up', async () => {
    const tunnel = await PgTunnel.open('fakepg', token)
    tunnel.send(frame('Q', new TextEncoder().encode('SELECT 1\u0000')).subarray(0, 7))
    tunnel.socket.close(1000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await originReceived()).toEqual({ received: 0, sessions: 1 })
  })

  it('still forwards a well-formed message after all of that', async () => {
    const tunnel = await PgTunnel.open('fakepg', token)
    tunnel.send(SYNC)
    // The fake origin only counts; the Sync's five bytes must reach it.
    await expect.poll(async () => (await originReceived()).received).toBe(SYNC.length)
    tunnel.close()
  })
})

const MALFORMED = fc.oneof(
  // Unknown type bytes (anything a client never sends), honest lengths.
  fc
    .tuple(
      fc
        .integer({ min: 0, max: 255 })
        .filter((code) => !'QPBDECSHFdcfX'.includes(String.fromCharCode(code))),
      fc.uint8Array({ maxLength: 64 })
    )
    .map(([code, body]) => frame(String.fromCharCode(code), body)),
  // Lengths that lie downward (< 4) or past the cap.
  fc
    .tuple(
      fc.constantFrom('Q', 'P', 'B', 'E'),
      fc.oneof(
        fc.integer({ min: -(2 ** 31), max: 3 }),
        fc.integer({ min: 16 * 1024 * 1024 + 1, max: 2 ** 31 - 1 })
      )
    )
    .map(([type, length]) => frame(type, new Uint8Array(4), length)),
  // Known types whose strings never end (no zero byte), closed by a Sync.
  fc
    .tuple(
      fc.constantFrom('Q', 'P', 'B', 'D', 'C', 'E'),
      fc.uint8Array({ minLength: 1, maxLength: 128 }).map((bytes) => bytes.map((byte) => byte || 1))
    )
    .map(([type, body]) => new Uint8Array([...frame(type, body), ...SYNC]))
)

describe('fuzzing the tunnel', () => {
  it('answers any malformed frame with a FATAL protocol error and forwards nothing', async () => {
    await fc.assert(
      fc.asyncProperty(MALFORMED, async (bytes) => {
        await (await fetch(control(), { method: 'DELETE' })).body?.cancel()
        const result = await sendMalformed(bytes)
        expect(result.messages.at(-1)).toBe('ErrorResponse')
        expect(['08P01', '54000']).toContain(result.errors.at(-1)?.code)
        expect((await originReceived()).received).toBe(0)
      }),
      { numRuns: 60 }
    )
  }, 120_000)
})
