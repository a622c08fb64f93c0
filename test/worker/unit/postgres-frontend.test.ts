import { describe, expect, it } from 'vitest'
import {
  type MessageFrame,
  MessageFramer,
  type StartupFrame,
} from '../../../src/protocols/postgres/codec/framer.ts'
import {
  decodeFrontendMessage,
  decodeGssResponse,
  decodePasswordMessage,
  decodeSaslInitialResponse,
  decodeSaslResponse,
  encodeFrontendMessage,
  type FrontendMessage,
} from '../../../src/protocols/postgres/codec/frontend.ts'
import { ProtocolError } from '../../../src/protocols/postgres/codec/protocol-error.ts'
import {
  decodeEncryptionResponse,
  decodeStartupFrame,
  encodeStartupPhaseMessage,
  type StartupPhaseMessage,
} from '../../../src/protocols/postgres/codec/startup.ts'
import { bytes, int16, int32, message } from '../support/pg-bytes.ts'

/** A startup-phase packet with a correct length around `code` and `body`. */
function packet(code: number, ...body: (string | number[])[]): Uint8Array {
  const payload = bytes(...body)
  return bytes(int32(payload.length + 8), int32(code), [...payload])
}

function frameOf(raw: Uint8Array): MessageFrame {
  const frames = new MessageFramer({ phase: 'normal' }).push(raw)
  if (frames.length !== 1 || frames[0]?.phase !== 'normal') throw new Error('not one message')
  return frames[0]
}

function startupFrameOf(raw: Uint8Array): StartupFrame {
  const frames = new MessageFramer().push(raw)
  if (frames.length !== 1 || frames[0]?.phase !== 'startup') throw new Error('not one packet')
  return frames[0]
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

function malformedMessage(raw: Uint8Array): string {
  const problem = failure(() => decodeFrontendMessage(frameOf(raw)))
  expect(problem.code).toBe('protocol.malformed')
  return problem.message
}

const DECODED_AS_IS: FrontendMessage[] = [
  { type: 'Query', sql: "select 'héllo' as greeting" },
  { type: 'Query', sql: '' },
  { type: 'Parse', statement: 'stmt1', query: 'select $1::int, $2', parameterTypes: [23, 0] },
  { type: 'Parse', statement: '', query: 'select 1', parameterTypes: [] },
  {
    type: 'Bind',
    portal: 'p1',
    statement: 'stmt1',
    parameterFormats: [0, 1],
    parameters: [bytes('42'), null],
    resultFormats: [1],
  },
  {
    type: 'Bind',
    portal: '',
    statement: '',
    parameterFormats: [],
    parameters: [],
    resultFormats: [],
  },
  { type: 'Describe', target: 'statement', name: 'stmt1' },
  { type: 'Describe', target: 'portal', name: '' },
  { type: 'Execute', portal: 'p1', maxRows: 100 },
  { type: 'Close', target: 'portal', name: 'p1' },
  { type: 'Close', target: 'statement', name: 'stmt1' },
  { type: 'Sync' },
  { type: 'Flush' },
  { type: 'Terminate' },
  { type: 'CopyData', data: bytes('1\tone\n') },
  { type: 'CopyDone' },
  { type: 'CopyFail', message: 'aborted by user' },
  {
    type: 'FunctionCall',
    functionOid: 1397,
    argumentFormats: [1],
    arguments: [bytes(int32(-5)), null],
    resultFormat: 1,
  },
  { type: 'AuthenticationResponse', data: bytes('secret\0') },
]

describe('Postgres frontend messages', () => {
  it.each(DECODED_AS_IS.map((value) => [value.type, value] as const))(
    'round-trips %s through encode, framing and decode',
    (_type, value) => {
      const encoded = encodeFrontendMessage(value)
      const frame = frameOf(encoded)
      expect(decodeFrontendMessage(frame)).toEqual(value)
      expect(encodeFrontendMessage(decodeFrontendMessage(frame))).toEqual(encoded)
    }
  )

  it('encodes Query as type, length counting itself, and a NUL-terminated string', () => {
    expect(encodeFrontendMessage({ type: 'Query', sql: 'select 1' })).toEqual(
      bytes('Q', [0, 0, 0, 13], 'select 1\0')
    )
  })

  it('encodes Bind with a NULL parameter as length -1', () => {
    const encoded = encodeFrontendMessage({
      type: 'Bind',
      portal: '',
      statement: 's',
      parameterFormats: [],
      parameters: [null, bytes('x')],
      resultFormats: [],
    })
    expect(encoded).toEqual(
      message('B', '\0s\0', int16(0), int16(2), int32(-1), int32(1), 'x', int16(0))
    )
  })

  it('reads password, SASL and GSS responses from the same type byte by context', () => {
    const password = encodeFrontendMessage({ type: 'PasswordMessage', password: 'md5abc' })
    expect(decodePasswordMessage(frameOf(password))).toEqual({
      type: 'PasswordMessage',
      password: 'md5abc',
    })
    const initial = encodeFrontendMessage({
      type: 'SASLInitialResponse',
      mechanism: 'SCRAM-SHA-256',
      data: bytes('n,,n=,r=abc'),
    })
    expect(initial).toEqual(message('p', 'SCRAM-SHA-256\0', int32(11), 'n,,n=,r=abc'))
    expect(decodeSaslInitialResponse(frameOf(initial))).toEqual({
      type: 'SASLInitialResponse',
      mechanism: 'SCRAM-SHA-256',
      data: bytes('n,,n=,r=abc'),
    })
    const noInitial = encodeFrontendMessage({
      type: 'SASLInitialResponse',
      mechanism: 'X',
      data: null,
    })
    expect(decodeSaslInitialResponse(frameOf(noInitial)).data).toBeNull()
    const response = encodeFrontendMessage({ type: 'SASLResponse', data: bytes('c=biws') })
    expect(decodeSaslResponse(frameOf(response))).toEqual({
      type: 'SASLResponse',
      data: bytes('c=biws'),
    })
    const gss = encodeFrontendMessage({ type: 'GSSResponse', data: bytes([1, 2, 3]) })
    expect(decodeGssResponse(frameOf(gss))).toEqual({ type: 'GSSResponse', data: bytes([1, 2, 3]) })
    expect(decodeFrontendMessage(frameOf(password))).toEqual({
      type: 'AuthenticationResponse',
      data: bytes('md5abc\0'),
    })
  })

  it('refuses to read a non-p message as a password', () => {
    expect(failure(() => decodePasswordMessage(frameOf(message('Q', 'x\0'))))).toEqual({
      code: 'protocol.malformed',
      message: "Expected a Postgres PasswordMessage ('p'), got message type 'Q'.",
    })
  })

  it('refuses a SASLInitialResponse whose data length overruns the message', () => {
    const raw = message('p', 'SCRAM-SHA-256\0', int32(50), 'n,,')
    expect(failure(() => decodeSaslInitialResponse(frameOf(raw))).message).toBe(
      'Postgres SASLInitialResponse message is malformed: initial response needs 50 byte(s) but only 3 remain.'
    )
  })

  it('refuses an unknown message type', () => {
    expect(malformedMessage(message('z'))).toBe("Unknown Postgres frontend message type 'z'.")
  })

  it('refuses a query string without its NUL terminator', () => {
    expect(malformedMessage(message('Q', 'select 1'))).toBe(
      'Postgres Query message is malformed: query string is missing its NUL terminator.'
    )
  })

  it('refuses a query that is not valid UTF-8', () => {
    expect(malformedMessage(message('Q', [0x73, 0xff, 0x00]))).toBe(
      'Postgres Query message is malformed: query string is not valid UTF-8 (the gateway requires client_encoding UTF8).'
    )
  })

  it('refuses bytes after the last field', () => {
    expect(malformedMessage(message('S', [0]))).toBe(
      'Postgres Sync message is malformed: 1 unexpected byte(s) after the last field.'
    )
    expect(malformedMessage(message('Q', 'select 1\0\0'))).toBe(
      'Postgres Query message is malformed: 1 unexpected byte(s) after the last field.'
    )
  })

  it('refuses a Bind parameter whose length runs past the end of the message', () => {
    const raw = message('B', '\0\0', int16(0), int16(1), int32(10), 'abc')
    expect(malformedMessage(raw)).toBe(
      'Postgres Bind message is malformed: parameter 1 needs 10 byte(s) but only 3 remain.'
    )
  })

  it('refuses a Bind parameter with a negative length other than -1', () => {
    const raw = message('B', '\0\0', int16(0), int16(1), int32(-2), int16(0))
    expect(malformedMessage(raw)).toBe(
      'Postgres Bind message is malformed: parameter 1 has length -2; only -1 (NULL) may be negative.'
    )
  })

  it('refuses a parameter count that cannot fit in the bytes left', () => {
    // 0xffff read as Int16 is -1; Postgres reads counts unsigned, so this is 65535 values.
    const raw = message('P', '\0select 1\0', int16(-1), int32(23))
    expect(malformedMessage(raw)).toBe(
      'Postgres Parse message is malformed: parameter type count is 65535, more than the 4 remaining byte(s) can hold.'
    )
  })

  it('refuses a Bind with a format code list that matches neither one nor every parameter', () => {
    const raw = message(
      'B',
      '\0\0',
      int16(2),
      int16(0),
      int16(1),
      int16(3),
      int32(-1),
      int32(-1),
      int32(-1),
      int16(0)
    )
    expect(malformedMessage(raw)).toBe(
      'Postgres Bind message is malformed: 2 parameter format codes for 3 parameters.'
    )
  })

  it('refuses a format code other than text or binary', () => {
    const raw = message('B', '\0\0', int16(1), int16(2), int16(0), int16(0))
    expect(malformedMessage(raw)).toBe(
      'Postgres Bind message is malformed: parameter format 1 is 2, not 0 (text) or 1 (binary).'
    )
  })

  it("refuses a Describe target other than 'S' or 'P'", () => {
    expect(malformedMessage(message('D', 'Xname\0'))).toBe(
      "Postgres Describe message is malformed: target is 'X', not 'S' (statement) or 'P' (portal)."
    )
  })

  it('refuses an Execute cut short before its row limit', () => {
    expect(malformedMessage(message('E', 'p1\0', [0, 0]))).toBe(
      'Postgres Execute message is malformed: row limit needs 4 byte(s) but only 2 remain.'
    )
  })

  it('refuses to encode a string containing NUL, which would end it early', () => {
    expect(failure(() => encodeFrontendMessage({ type: 'Query', sql: 'a\0b' }))).toEqual({
      code: 'protocol.malformed',
      message: 'Cannot encode Postgres Query: a string contains a NUL byte.',
    })
  })

  it('refuses to encode a value out of its field range', () => {
    expect(
      failure(() => encodeFrontendMessage({ type: 'Execute', portal: '', maxRows: 2 ** 31 }))
        .message
    ).toBe('Cannot encode Postgres Execute: 2147483648 is not an Int32.')
  })
})

const STARTUP_PHASE: StartupPhaseMessage[] = [
  {
    type: 'StartupMessage',
    protocolVersion: 196608,
    parameters: Object.assign(Object.create(null), {
      user: 'alice',
      database: 'app',
      application_name: 'psql',
      options: '-c search_path=public',
    }),
  },
  { type: 'SSLRequest' },
  { type: 'GSSENCRequest' },
  { type: 'CancelRequest', processId: 853, secretKey: bytes(int32(0x0e0b3570)) },
  { type: 'CancelRequest', processId: 1, secretKey: new Uint8Array(32).fill(9) },
]

describe('Postgres startup-phase messages', () => {
  it.each(STARTUP_PHASE.map((value) => [value.type, value] as const))(
    'round-trips %s',
    (_type, value) => {
      const encoded = encodeStartupPhaseMessage(value)
      expect(decodeStartupFrame(startupFrameOf(encoded))).toEqual(value)
    }
  )

  it('encodes SSLRequest as the 8 bytes clients send', () => {
    expect(encodeStartupPhaseMessage({ type: 'SSLRequest' })).toEqual(
      bytes([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
    )
  })

  it('keeps startup parameters in a null-prototype object', () => {
    const raw = packet(196608, '__proto__\0x\0user\0a\0\0')
    const decoded = decodeStartupFrame(startupFrameOf(raw))
    expect(decoded.type === 'StartupMessage' && Object.getPrototypeOf(decoded.parameters)).toBe(
      null
    )
    expect(decoded).toMatchObject({ parameters: { user: 'a' } })
  })

  it('refuses a parameter that appears twice', () => {
    const raw = packet(196608, 'user\0a\0user\0b\0\0')
    expect(failure(() => decodeStartupFrame(startupFrameOf(raw))).message).toBe(
      'Postgres StartupMessage message is malformed: parameter "user" appears twice.'
    )
  })

  it('refuses a StartupMessage without its final terminator', () => {
    const raw = packet(196608, 'user\0a\0')
    expect(failure(() => decodeStartupFrame(startupFrameOf(raw))).message).toBe(
      'Postgres StartupMessage message is malformed: parameter name is missing its NUL terminator.'
    )
  })

  it('refuses protocol versions other than 3', () => {
    const raw = packet(0x0002_0000, [0])
    expect(failure(() => decodeStartupFrame(startupFrameOf(raw)))).toEqual({
      code: 'protocol.malformed',
      message: 'The client asked for Postgres protocol 2.0; the gateway speaks only protocol 3.',
    })
  })

  it('keeps a newer minor version for the gateway to negotiate', () => {
    const raw = packet(0x0003_0002, [0])
    expect(decodeStartupFrame(startupFrameOf(raw))).toEqual({
      type: 'StartupMessage',
      protocolVersion: 196610,
      parameters: {},
    })
  })

  it('refuses a CancelRequest key shorter than 4 bytes', () => {
    const raw = packet(80877102, int32(7), [1, 2])
    expect(failure(() => decodeStartupFrame(startupFrameOf(raw))).message).toBe(
      'Postgres CancelRequest message is malformed: secret key is 2 bytes, not 4 to 256.'
    )
  })

  it('refuses an SSLRequest with extra bytes', () => {
    const raw = packet(80877103, [0])
    expect(failure(() => decodeStartupFrame(startupFrameOf(raw))).message).toBe(
      'Postgres SSLRequest message is malformed: 1 unexpected byte(s) after the last field.'
    )
  })

  it("reads the server's one-byte answer to an encryption request", () => {
    expect(decodeEncryptionResponse(bytes('S'), 'SSLRequest')).toBe('accepted')
    expect(decodeEncryptionResponse(bytes('N'), 'SSLRequest')).toBe('refused')
    expect(decodeEncryptionResponse(bytes('G'), 'GSSENCRequest')).toBe('accepted')
    expect(failure(() => decodeEncryptionResponse(bytes('G'), 'SSLRequest')).message).toBe(
      "The origin answered SSLRequest with an unexpected byte ('G')."
    )
  })

  it('refuses bytes that arrive with the SSL answer, before encryption (CVE-2021-23222)', () => {
    expect(failure(() => decodeEncryptionResponse(bytes('SE'), 'SSLRequest')).message).toBe(
      'The origin answered SSLRequest with 2 bytes instead of one; refusing bytes sent before encryption started (CVE-2021-23222).'
    )
  })
})
