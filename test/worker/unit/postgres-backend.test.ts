import { describe, expect, it } from 'vitest'
import {
  type BackendMessage,
  decodeBackendMessage,
  encodeBackendMessage,
} from '../../../src/protocols/postgres/codec/backend.ts'
import { type MessageFrame, MessageFramer } from '../../../src/protocols/postgres/codec/framer.ts'
import { ProtocolError } from '../../../src/protocols/postgres/codec/protocol-error.ts'
import { bytes, int16, int32, message } from '../support/pg-bytes.ts'

function frameOf(raw: Uint8Array): MessageFrame {
  const frames = new MessageFramer({ phase: 'normal' }).push(raw)
  if (frames.length !== 1 || frames[0]?.phase !== 'normal') throw new Error('not one message')
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
  const problem = failure(() => decodeBackendMessage(frameOf(raw)))
  expect(problem.code).toBe('protocol.malformed')
  return problem.message
}

const MESSAGES: BackendMessage[] = [
  { type: 'AuthenticationOk' },
  { type: 'AuthenticationKerberosV5' },
  { type: 'AuthenticationCleartextPassword' },
  { type: 'AuthenticationMD5Password', salt: bytes([0xdc, 0xa5, 0xea, 0xc4]) },
  { type: 'AuthenticationGSS' },
  { type: 'AuthenticationGSSContinue', data: bytes([1, 2, 3]) },
  { type: 'AuthenticationSSPI' },
  { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] },
  { type: 'AuthenticationSASLContinue', data: bytes('r=abc,s=c2FsdA==,i=4096') },
  { type: 'AuthenticationSASLFinal', data: bytes('v=c2lnbmF0dXJl') },
  { type: 'BackendKeyData', processId: 3576, secretKey: bytes(int32(0x7283fb1f)) },
  { type: 'BackendKeyData', processId: 1, secretKey: new Uint8Array(32).fill(0xab) },
  { type: 'ParameterStatus', name: 'server_version', value: '15.18' },
  { type: 'ReadyForQuery', status: 'I' },
  { type: 'ReadyForQuery', status: 'T' },
  { type: 'ReadyForQuery', status: 'E' },
  {
    type: 'RowDescription',
    fields: [
      {
        name: 'abalance',
        tableOid: 16392,
        columnAttributeNumber: 3,
        dataTypeOid: 23,
        dataTypeSize: 4,
        typeModifier: -1,
        format: 0,
      },
      {
        name: '',
        tableOid: 0xffff_fffe,
        columnAttributeNumber: -1,
        dataTypeOid: 25,
        dataTypeSize: -1,
        typeModifier: -1,
        format: 1,
      },
    ],
  },
  { type: 'RowDescription', fields: [] },
  { type: 'DataRow', values: [bytes('1'), null, bytes(''), bytes('héllo')] },
  { type: 'DataRow', values: [] },
  { type: 'CommandComplete', tag: 'INSERT 0 5' },
  { type: 'EmptyQueryResponse' },
  {
    type: 'ErrorResponse',
    fields: {
      severity: 'ERROR',
      severityNonLocalized: 'ERROR',
      code: '23505',
      message: 'duplicate key value violates unique constraint "users_pkey"',
      detail: 'Key (id)=(1) already exists.',
      hint: 'pick another id',
      position: '8',
      internalPosition: '3',
      internalQuery: 'select 1',
      where: 'SQL function "f"',
      schema: 'public',
      table: 'users',
      column: 'id',
      dataType: 'int4',
      constraint: 'users_pkey',
      file: 'nbtinsert.c',
      line: '666',
      routine: '_bt_check_unique',
    },
  },
  {
    type: 'NoticeResponse',
    fields: { severity: 'NOTICE', code: '00000', message: 'hi' },
    unrecognized: { X: 'from a newer server' },
  },
  { type: 'ParseComplete' },
  { type: 'BindComplete' },
  { type: 'CloseComplete' },
  { type: 'NoData' },
  { type: 'PortalSuspended' },
  { type: 'ParameterDescription', parameterTypes: [25, 23, 0xffff_ffff] },
  { type: 'CopyInResponse', format: 0, columnFormats: [0, 0] },
  { type: 'CopyOutResponse', format: 1, columnFormats: [1] },
  { type: 'CopyBothResponse', format: 0, columnFormats: [] },
  { type: 'CopyData', data: bytes('1\tone\n') },
  { type: 'CopyDone' },
  { type: 'NotificationResponse', processId: 3590, channel: 'chan', payload: 'payload-1' },
  { type: 'FunctionCallResponse', result: bytes('5') },
  { type: 'FunctionCallResponse', result: null },
  {
    type: 'NegotiateProtocolVersion',
    newestVersion: 196608,
    unrecognizedOptions: ['_pq_.compression'],
  },
]

describe('Postgres backend messages', () => {
  it.each(MESSAGES.map((value) => [value.type, value] as const))(
    'round-trips %s through encode, framing and decode',
    (_type, value) => {
      const encoded = encodeBackendMessage(value)
      const frame = frameOf(encoded)
      expect(decodeBackendMessage(frame)).toEqual(value)
      expect(encodeBackendMessage(decodeBackendMessage(frame))).toEqual(encoded)
    }
  )

  it('encodes what the gateway sends a client after authenticating it', () => {
    expect(encodeBackendMessage({ type: 'AuthenticationOk' })).toEqual(
      bytes('R', int32(8), int32(0))
    )
    expect(encodeBackendMessage({ type: 'AuthenticationCleartextPassword' })).toEqual(
      bytes('R', int32(8), int32(3))
    )
    expect(
      encodeBackendMessage({ type: 'ParameterStatus', name: 'TimeZone', value: 'UTC' })
    ).toEqual(message('S', 'TimeZone\0UTC\0'))
    expect(
      encodeBackendMessage({ type: 'BackendKeyData', processId: 7, secretKey: bytes(int32(9)) })
    ).toEqual(message('K', int32(7), int32(9)))
    expect(encodeBackendMessage({ type: 'ReadyForQuery', status: 'I' })).toEqual(message('Z', 'I'))
  })

  it('encodes an ErrorResponse from a field map in the order Postgres sends fields', () => {
    const encoded = encodeBackendMessage({
      type: 'ErrorResponse',
      fields: {
        message: 'blocked by policy',
        code: '42501',
        severityNonLocalized: 'ERROR',
        severity: 'ERROR',
      },
    })
    expect(encoded).toEqual(
      message('E', 'SERROR\0', 'VERROR\0', 'C42501\0', 'Mblocked by policy\0', [0])
    )
  })

  it('encodes a DataRow with NULL as length -1', () => {
    expect(encodeBackendMessage({ type: 'DataRow', values: [bytes('ab'), null] })).toEqual(
      message('D', int16(2), int32(2), 'ab', int32(-1))
    )
  })

  it('decodes DataRow values as views into the frame, not copies', () => {
    const frame = frameOf(message('D', int16(1), int32(3), 'abc'))
    const decoded = decodeBackendMessage(frame)
    expect(decoded.type === 'DataRow' && decoded.values[0]?.buffer).toBe(frame.bytes.buffer)
  })

  it('decodes bad UTF-8 from the origin leniently, as the replacement character', () => {
    const raw = message('N', 'SNOTICE\0M', [0x61, 0xff, 0x62], [0, 0])
    expect(decodeBackendMessage(frameOf(raw))).toEqual({
      type: 'NoticeResponse',
      fields: { severity: 'NOTICE', message: 'a\ufffdb' },
    })
  })

  it('refuses an unknown message type', () => {
    expect(malformedMessage(message('Y'))).toBe("Unknown Postgres backend message type 'Y'.")
  })

  it('refuses an authentication request code Postgres does not define', () => {
    expect(malformedMessage(message('R', int32(4)))).toBe(
      'Postgres Authentication request 4 is not one Postgres defines.'
    )
  })

  it('refuses an authentication message too short for its request code', () => {
    expect(malformedMessage(message('R', [0, 0]))).toBe(
      'Postgres Authentication message is malformed: request code needs 4 byte(s) but only 2 remain.'
    )
  })

  it('refuses an MD5 salt shorter than 4 bytes', () => {
    expect(malformedMessage(message('R', int32(5), [1, 2, 3]))).toBe(
      'Postgres AuthenticationMD5Password message is malformed: salt needs 4 byte(s) but only 3 remain.'
    )
  })

  it('refuses a SASL mechanism list without its empty terminator', () => {
    expect(malformedMessage(message('R', int32(10), 'SCRAM-SHA-256\0'))).toBe(
      'Postgres AuthenticationSASL message is malformed: mechanism is missing its NUL terminator.'
    )
  })

  it('refuses a RowDescription whose field count cannot fit in the message', () => {
    expect(malformedMessage(message('T', int16(3), 'a\0', new Array(18).fill(0)))).toBe(
      'Postgres RowDescription message is malformed: field count is 3, more than the 20 remaining byte(s) can hold.'
    )
  })

  it('refuses a RowDescription field cut short', () => {
    const field = message('T', int16(1), 'a_long_column_name\0', int32(0), int16(0))
    expect(malformedMessage(field)).toBe(
      'Postgres RowDescription message is malformed: type OID of field 1 needs 4 byte(s) but only 0 remain.'
    )
  })

  it('refuses a DataRow value longer than the message', () => {
    expect(malformedMessage(message('D', int16(1), int32(1000), 'abc'))).toBe(
      'Postgres DataRow message is malformed: column 1 needs 1000 byte(s) but only 3 remain.'
    )
  })

  it('refuses a DataRow value with a negative length other than -1', () => {
    expect(malformedMessage(message('D', int16(1), int32(-7)))).toBe(
      'Postgres DataRow message is malformed: column 1 has length -7; only -1 (NULL) may be negative.'
    )
  })

  it('refuses a DataRow with fewer values than its count', () => {
    expect(malformedMessage(message('D', int16(2), int32(-1)))).toBe(
      'Postgres DataRow message is malformed: column count is 2, more than the 4 remaining byte(s) can hold.'
    )
  })

  it('refuses a DataRow whose declared length ends before its value, reading nothing past it', () => {
    // The length covers the count and the value's length; 'ab' follows outside the frame.
    const raw = bytes('D', int32(10), int16(1), int32(2), 'ab')
    expect(malformedMessage(raw)).toBe(
      'Postgres DataRow message is malformed: column 1 needs 2 byte(s) but only 0 remain.'
    )
  })

  it('refuses an ErrorResponse field without its NUL terminator', () => {
    expect(malformedMessage(message('E', 'SERROR'))).toBe(
      "Postgres ErrorResponse message is malformed: field 'S' is missing its NUL terminator."
    )
  })

  it('refuses an ErrorResponse without the terminating zero byte', () => {
    expect(malformedMessage(message('E', 'SERROR\0'))).toBe(
      'Postgres ErrorResponse message is malformed: field code needs 1 byte(s) but only 0 remain.'
    )
  })

  it('refuses an ErrorResponse that repeats a field', () => {
    expect(malformedMessage(message('E', 'Ma\0Mb\0', [0]))).toBe(
      "Postgres ErrorResponse message is malformed: field 'M' appears twice."
    )
  })

  it('refuses a ReadyForQuery status other than I, T or E', () => {
    expect(malformedMessage(message('Z', 'X'))).toBe(
      'Postgres ReadyForQuery message is malformed: transaction status is "X", not I, T or E.'
    )
  })

  it('refuses a BackendKeyData secret longer than 256 bytes', () => {
    expect(malformedMessage(message('K', int32(1), new Array(257).fill(1)))).toBe(
      'Postgres BackendKeyData message is malformed: secret key is 257 bytes, not 4 to 256.'
    )
  })

  it('refuses a negative NegotiateProtocolVersion option count', () => {
    expect(malformedMessage(message('v', int32(196608), int32(-1)))).toBe(
      'Postgres NegotiateProtocolVersion message is malformed: option count is negative (-1).'
    )
  })

  it('refuses a COPY response with an overall format other than 0 or 1', () => {
    expect(malformedMessage(message('H', [2], int16(0)))).toBe(
      'Postgres CopyOutResponse message is malformed: overall format is 2.'
    )
  })

  it('refuses to encode an MD5 salt that is not 4 bytes', () => {
    expect(
      failure(() =>
        encodeBackendMessage({ type: 'AuthenticationMD5Password', salt: new Uint8Array(5) })
      ).message
    ).toBe('Cannot encode an MD5 salt that is not 4 bytes.')
  })

  it('refuses to encode an unrecognized field code that is a known letter', () => {
    expect(
      failure(() =>
        encodeBackendMessage({ type: 'NoticeResponse', fields: {}, unrecognized: { M: 'x' } })
      ).message
    ).toBe('Cannot encode notice field code "M": not a single unknown non-zero byte.')
  })
})
