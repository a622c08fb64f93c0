import { describe, expect, it } from 'vitest'
import {
  type Frame,
  MAX_MESSAGE_BYTES,
  MessageFramer,
} from '../../../src/protocols/postgres/codec/framer.ts'
import { ProtocolError } from '../../../src/protocols/postgres/codec/protocol-error.ts'
import { bytes, int32, message } from '../support/pg-bytes.ts'

function concat(...parts: Uint8Array[]): Uint8Array {
  return bytes(...parts.map((part) => [...part]))
}

function summary(frames: Frame[]): string[] {
  return frames.map((frame) =>
    frame.phase === 'normal' ? `${frame.type}:${frame.bytes.length}` : `startup ${frame.code}`
  )
}

function failure(action: () => unknown): { code: string; message: string } {
  try {
    action()
  } catch (error) {
    if (error instanceof ProtocolError) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('expected a ProtocolError')
}

const QUERY = message('Q', 'select 1\0')
const SYNC = message('S')
const DATA_ROW = message('D', [0, 1, ...int32(3), 0x61, 0x62, 0x63])
const STREAM = concat(QUERY, SYNC, DATA_ROW, message('X'))

const SSL_REQUEST = bytes(int32(8), int32(80877103))
const STARTUP_PARAMETERS = 'user\0alice\0database\0postgres\0\0'
const STARTUP = bytes(int32(8 + STARTUP_PARAMETERS.length), int32(196608), STARTUP_PARAMETERS)

describe('Postgres message framer', () => {
  it('splits many messages that arrive in one chunk, keeping each one raw', () => {
    const frames = new MessageFramer({ phase: 'normal' }).push(STREAM)
    expect(summary(frames)).toEqual(['Q:14', 'S:5', 'D:14', 'X:5'])
    expect(frames[0]?.bytes).toEqual(QUERY)
    expect(frames[0]?.body).toEqual(bytes('select 1\0'))
    expect(frames[2]?.bytes).toEqual(DATA_ROW)
  })

  it('yields the same frames whichever byte the stream is split at', () => {
    for (let split = 0; split <= STREAM.length; split++) {
      const framer = new MessageFramer({ phase: 'normal' })
      const frames = [
        ...framer.push(STREAM.subarray(0, split)),
        ...framer.push(STREAM.subarray(split)),
      ]
      expect(summary(frames), `split at ${split}`).toEqual(['Q:14', 'S:5', 'D:14', 'X:5'])
      expect(concat(...frames.map((frame) => frame.bytes))).toEqual(STREAM)
      expect(framer.bufferedBytes).toBe(0)
    }
  })

  it('yields the same frames when fed one byte at a time', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    const frames: Frame[] = []
    for (const byte of STREAM) frames.push(...framer.push(Uint8Array.of(byte)))
    expect(summary(frames)).toEqual(['Q:14', 'S:5', 'D:14', 'X:5'])
    expect(frames[2]?.bytes).toEqual(DATA_ROW)
  })

  it('keeps a message buffered until the rest of its declared length arrives', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    expect(framer.push(QUERY.subarray(0, 8))).toEqual([])
    expect(framer.bufferedBytes).toBe(8)
    expect(framer.push(QUERY.subarray(8, 13))).toEqual([])
    expect(framer.bufferedBytes).toBe(13)
    const frames = framer.push(concat(QUERY.subarray(13), SYNC.subarray(0, 2)))
    expect(summary(frames)).toEqual(['Q:14'])
    expect(frames[0]?.bytes).toEqual(QUERY)
    expect(framer.bufferedBytes).toBe(2)
  })

  it('refuses a declared length over the cap as soon as the header arrives', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    const header = bytes('D', int32(MAX_MESSAGE_BYTES + 1))
    expect(failure(() => framer.push(header))).toEqual({
      code: 'protocol.too_large',
      message: `Postgres message of type 'D' declares 16777217 bytes, over the gateway's limit of 16777216 bytes per message; read large values in pieces, or raise the connection's message size limit.`,
    })
    expect(framer.bufferedBytes).toBe(0)
  })

  it('refuses an over-long length even when the header comes one byte at a time', () => {
    const framer = new MessageFramer({ phase: 'normal', maxMessageBytes: 100 })
    const header = bytes('d', int32(101))
    for (const byte of header.subarray(0, 4)) expect(framer.push(Uint8Array.of(byte))).toEqual([])
    expect(framer.bufferedBytes).toBe(4)
    expect(failure(() => framer.push(header.subarray(4))).code).toBe('protocol.too_large')
  })

  it('accepts a message exactly at a custom cap', () => {
    const atCap = message('d', new Array(96).fill(7))
    const frames = new MessageFramer({ phase: 'normal', maxMessageBytes: 100 }).push(atCap)
    expect(summary(frames)).toEqual(['d:101'])
  })

  it('refuses a declared length below 4', () => {
    expect(
      failure(() => new MessageFramer({ phase: 'normal' }).push(bytes('Q', int32(3))))
    ).toEqual({
      code: 'protocol.malformed',
      message:
        "Postgres message of type 'Q' declares length 3, below the minimum of 4 (the length counts itself); the stream is corrupt or not Postgres.",
    })
  })

  it('refuses a negative declared length', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    expect(failure(() => framer.push(bytes('Q', int32(-1)))).code).toBe('protocol.malformed')
  })

  it('passes a message of unknown type through as a raw frame', () => {
    const unknown = message('z', 'abc')
    const frames = new MessageFramer({ phase: 'normal' }).push(unknown)
    expect(frames).toEqual([{ phase: 'normal', type: 'z', bytes: unknown, body: bytes('abc') }])
  })

  it('keeps failing with the same error once the stream is corrupt', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    const first = failure(() => framer.push(bytes('Q', int32(2))))
    expect(failure(() => framer.push(SYNC))).toEqual(first)
    expect(failure(() => framer.finish())).toEqual(first)
  })

  it('reports a message cut off by the end of the stream', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    framer.push(QUERY.subarray(0, 9))
    expect(failure(() => framer.finish())).toEqual({
      code: 'protocol.malformed',
      message:
        'The Postgres connection closed in the middle of a message (9 of 14 bytes received).',
    })
  })

  it('ends cleanly between messages', () => {
    const framer = new MessageFramer({ phase: 'normal' })
    framer.push(STREAM)
    expect(() => framer.finish()).not.toThrow()
  })

  it('reads untyped startup packets, then switches to typed messages after StartupMessage', () => {
    const framer = new MessageFramer()
    expect(framer.phase).toBe('startup')
    const frames = framer.push(concat(SSL_REQUEST, STARTUP, QUERY))
    expect(summary(frames)).toEqual(['startup 80877103', 'startup 196608', 'Q:14'])
    expect(frames[1]).toEqual({
      phase: 'startup',
      code: 196608,
      bytes: STARTUP,
      body: bytes(STARTUP_PARAMETERS),
    })
    expect(framer.phase).toBe('normal')
  })

  it('switches phase correctly when the startup packet is split at every byte', () => {
    const stream = concat(SSL_REQUEST, STARTUP, QUERY)
    for (let split = 0; split <= stream.length; split++) {
      const framer = new MessageFramer()
      const frames = [
        ...framer.push(stream.subarray(0, split)),
        ...framer.push(stream.subarray(split)),
      ]
      expect(summary(frames), `split at ${split}`).toEqual([
        'startup 80877103',
        'startup 196608',
        'Q:14',
      ])
    }
  })

  it('stays in the startup phase after SSLRequest and CancelRequest', () => {
    const framer = new MessageFramer()
    framer.push(SSL_REQUEST)
    expect(framer.phase).toBe('startup')
    framer.push(bytes(int32(16), int32(80877102), int32(42), int32(7)))
    expect(framer.phase).toBe('startup')
  })

  it('refuses a startup packet shorter than 8 bytes', () => {
    expect(failure(() => new MessageFramer().push(bytes(int32(7), [0, 3, 0])))).toEqual({
      code: 'protocol.malformed',
      message:
        'Postgres startup packet declares length 7, below the minimum of 8; the client is not speaking the Postgres protocol.',
    })
  })

  it('refuses a startup packet over the 10000 bytes Postgres allows, before buffering it', () => {
    const framer = new MessageFramer()
    expect(failure(() => framer.push(bytes(int32(10_001))))).toEqual({
      code: 'protocol.too_large',
      message:
        'Postgres startup packet declares 10001 bytes, over the 10000 that Postgres allows; the client is not speaking the Postgres protocol, or sends too many startup parameters.',
    })
    expect(framer.bufferedBytes).toBe(0)
  })

  it('refuses an HTTP request sent to the Postgres port', () => {
    expect(failure(() => new MessageFramer().push(bytes('GET / HTTP/1.1\r\n'))).code).toBe(
      'protocol.too_large'
    )
  })

  it('names a TLS handshake sent without SSLRequest (sslnegotiation=direct)', () => {
    const clientHello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
    expect(failure(() => new MessageFramer().push(clientHello))).toEqual({
      code: 'protocol.malformed',
      message:
        'The client began a TLS handshake directly (sslnegotiation=direct); the gateway accepts only the Postgres SSLRequest, so connect with sslnegotiation=postgres.',
    })
  })

  it('refuses a cap below the smallest message', () => {
    expect(() => new MessageFramer({ maxMessageBytes: 3 })).toThrow(RangeError)
  })
})
