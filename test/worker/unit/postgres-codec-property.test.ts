import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type BackendMessage,
  decodeBackendMessage,
  encodeBackendMessage,
} from '../../../src/protocols/postgres/codec/backend.ts'
import {
  type Frame,
  type FramerPhase,
  MAX_STARTUP_MESSAGE_BYTES,
  type MessageFrame,
  MessageFramer,
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
  decodeStartupFrame,
  encodeStartupPhaseMessage,
  type StartupMessage,
} from '../../../src/protocols/postgres/codec/startup.ts'

const CAP = 64
const SYNC: FrontendMessage = { type: 'Sync' }

/** Cuts `bytes` at the given points (taken modulo its length). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, point))
    at = point
  }
  return chunks
}

function concat(parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    joined.set(part, at)
    at += part.length
  }
  return joined
}

function typed(frame: Frame): MessageFrame {
  if (frame.phase !== 'normal') throw new Error('expected a typed message')
  return frame
}

/** Every decoder that could be pointed at this frame. */
function decodeEveryWay(frame: Frame): void {
  if (frame.phase === 'startup') {
    decodeStartupFrame(frame)
    return
  }
  const decoders = [
    decodeFrontendMessage,
    decodeBackendMessage,
    decodePasswordMessage,
    decodeSaslInitialResponse,
    decodeSaslResponse,
    decodeGssResponse,
  ]
  for (const decode of decoders) {
    try {
      decode(frame)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
    }
  }
}

/** Feeds chunks and decodes each frame; only ProtocolErrors may stop it. */
function feed(chunks: Uint8Array[], phase: FramerPhase): void {
  const framer = new MessageFramer({ phase, maxMessageBytes: CAP })
  try {
    for (const chunk of chunks) {
      for (const frame of framer.push(chunk)) decodeEveryWay(frame)
      const limit = framer.phase === 'startup' ? MAX_STARTUP_MESSAGE_BYTES : CAP + 1
      expect(framer.bufferedBytes).toBeLessThanOrEqual(limit)
    }
    framer.finish()
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
  }
}

const TYPE_BYTES = [...'QPBDECSHXdcfFpRKSZTDCIENn123tsGHWdcAVv'].map((char) => char.charCodeAt(0))

/** Messages with plausible types and correct lengths around random bodies, sometimes damaged. */
const framedNoise = fc
  .tuple(
    fc.array(
      fc.record({
        type: fc.oneof(fc.constantFrom(...TYPE_BYTES), fc.integer({ min: 0, max: 255 })),
        body: fc.uint8Array({ maxLength: 48 }),
      }),
      { maxLength: 12 }
    ),
    fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
      maxLength: 3,
    })
  )
  .map(([messages, damage]) => {
    const stream = concat(
      messages.map(({ type, body }) => {
        const bytes = new Uint8Array(body.length + 5)
        bytes[0] = type
        new DataView(bytes.buffer).setInt32(1, body.length + 4)
        bytes.set(body, 5)
        return bytes
      })
    )
    for (const { at, value } of damage) if (stream.length) stream[at % stream.length] = value
    return stream
  })

const cuts = fc.array(fc.nat(), { maxLength: 8 })

describe('Postgres codec properties', () => {
  it('never throws anything but ProtocolError on random bytes in random chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, fc.boolean(), (bytes, at, startup) => {
        feed(chunked(bytes, at), startup ? 'startup' : 'normal')
      }),
      { numRuns: 500 }
    )
  })

  it('never throws anything but ProtocolError on damaged, well-framed messages', () => {
    fc.assert(
      fc.property(framedNoise, cuts, (bytes, at) => feed(chunked(bytes, at), 'normal')),
      { numRuns: 1000 }
    )
  })

  it('never buffers more than the cap plus the type byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), cuts, (length, at) => {
        // One message, whole or cut short: its header, then at most its declared body.
        const message = new Uint8Array(5 + Math.max(0, Math.min(length - 4, 200))).fill(0x41)
        message[0] = 0x44
        new DataView(message.buffer).setInt32(1, length)
        const framer = new MessageFramer({ phase: 'normal', maxMessageBytes: CAP })
        try {
          for (const chunk of chunked(message, at)) {
            framer.push(chunk)
            expect(framer.bufferedBytes).toBeLessThanOrEqual(CAP + 1)
          }
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError)
          expect(length < 4 || length > CAP).toBe(true)
        }
      }),
      { numRuns: 500 }
    )
  })

  it('round-trips valid frontend messages through any chunking', () => {
    fc.assert(
      fc.property(fc.array(frontendMessage, { maxLength: 6 }), cuts, (messages, at) => {
        const stream = concat(messages.map(encodeFrontendMessage))
        const framer = new MessageFramer({ phase: 'normal' })
        const frames = chunked(stream, at).flatMap((chunk) => framer.push(chunk))
        expect(frames.map((frame) => decodeFrontendMessage(typed(frame)))).toEqual(messages)
      }),
      { numRuns: 300 }
    )
  })

  it('round-trips valid StartupMessages, switching to typed messages after them', () => {
    const parameters = fc.dictionary(cstring.filter(Boolean), cstring, { maxKeys: 6 })
    fc.assert(
      fc.property(parameters, fc.integer({ min: 0, max: 0xffff }), cuts, (entries, minor, at) => {
        const message: StartupMessage = {
          type: 'StartupMessage',
          protocolVersion: 0x0003_0000 + minor,
          parameters: Object.assign(Object.create(null), entries),
        }
        const stream = concat([encodeStartupPhaseMessage(message), encodeFrontendMessage(SYNC)])
        const framer = new MessageFramer()
        const frames = chunked(stream, at).flatMap((chunk) => framer.push(chunk))
        expect(frames.length).toBe(2)
        const [startup, sync] = frames
        expect(startup?.phase === 'startup' && decodeStartupFrame(startup)).toEqual(message)
        expect(decodeFrontendMessage(typed(sync as Frame))).toEqual(SYNC)
      }),
      { numRuns: 200 }
    )
  })

  it('round-trips valid backend messages through any chunking', () => {
    fc.assert(
      fc.property(fc.array(backendMessage, { maxLength: 6 }), cuts, (messages, at) => {
        const stream = concat(messages.map(encodeBackendMessage))
        const framer = new MessageFramer({ phase: 'normal' })
        const frames = chunked(stream, at).flatMap((chunk) => framer.push(chunk))
        expect(frames.map((frame) => decodeBackendMessage(typed(frame)))).toEqual(messages)
      }),
      { numRuns: 300 }
    )
  })
})

/** Strings a Postgres cstring can carry: well-formed Unicode without NUL. */
const cstring = fc
  .string({ unit: 'binary', maxLength: 12 })
  .filter((value) => !value.includes('\0') && value.isWellFormed())
const bytes = fc.uint8Array({ maxLength: 24 })
const nullable = fc.option(bytes, { nil: null })
const format = fc.constantFrom<0 | 1>(0, 1)
const oid = fc.nat({ max: 0xffff_ffff })
const int16 = fc.integer({ min: -0x8000, max: 0x7fff })
const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff })
const target = fc.constantFrom<'statement' | 'portal'>('statement', 'portal')

/** A format code list that Postgres accepts for `count` values: none, one, or one each. */
function formatsFor(count: number): fc.Arbitrary<(0 | 1)[]> {
  return fc.oneof(
    fc.constant<(0 | 1)[]>([]),
    fc.array(format, { minLength: 1, maxLength: 1 }),
    fc.array(format, { minLength: count, maxLength: count })
  )
}

const frontendMessage: fc.Arbitrary<FrontendMessage> = fc.oneof(
  fc.record({ type: fc.constant('Query' as const), sql: cstring }),
  fc.record({
    type: fc.constant('Parse' as const),
    statement: cstring,
    query: cstring,
    parameterTypes: fc.array(oid, { maxLength: 4 }),
  }),
  fc.array(nullable, { maxLength: 4 }).chain((parameters) =>
    fc.record({
      type: fc.constant('Bind' as const),
      portal: cstring,
      statement: cstring,
      parameterFormats: formatsFor(parameters.length),
      parameters: fc.constant(parameters),
      resultFormats: fc.array(format, { maxLength: 4 }),
    })
  ),
  fc.record({ type: fc.constant('Describe' as const), target, name: cstring }),
  fc.record({ type: fc.constant('Execute' as const), portal: cstring, maxRows: int32 }),
  fc.record({ type: fc.constant('Close' as const), target, name: cstring }),
  fc.constantFrom<FrontendMessage>(
    { type: 'Sync' },
    { type: 'Flush' },
    { type: 'Terminate' },
    { type: 'CopyDone' }
  ),
  fc.record({ type: fc.constant('CopyData' as const), data: bytes }),
  fc.record({ type: fc.constant('CopyFail' as const), message: cstring }),
  fc.array(nullable, { maxLength: 4 }).chain((args) =>
    fc.record({
      type: fc.constant('FunctionCall' as const),
      functionOid: oid,
      argumentFormats: formatsFor(args.length),
      arguments: fc.constant(args),
      resultFormat: format,
    })
  ),
  fc.record({ type: fc.constant('AuthenticationResponse' as const), data: bytes })
)

const noticeFields = fc.record(
  {
    severity: cstring,
    severityNonLocalized: cstring,
    code: cstring,
    message: cstring,
    detail: cstring,
    hint: cstring,
    position: cstring,
    where: cstring,
    schema: cstring,
    table: cstring,
    constraint: cstring,
    routine: cstring,
  },
  { requiredKeys: [] }
)

const field = fc.record({
  name: cstring,
  tableOid: oid,
  columnAttributeNumber: int16,
  dataTypeOid: oid,
  dataTypeSize: int16,
  typeModifier: int32,
  format,
})

const backendMessage: fc.Arbitrary<BackendMessage> = fc.oneof(
  fc.constantFrom<BackendMessage>(
    { type: 'AuthenticationOk' },
    { type: 'AuthenticationCleartextPassword' },
    { type: 'AuthenticationGSS' },
    { type: 'EmptyQueryResponse' },
    { type: 'ParseComplete' },
    { type: 'BindComplete' },
    { type: 'CloseComplete' },
    { type: 'NoData' },
    { type: 'PortalSuspended' },
    { type: 'CopyDone' }
  ),
  fc.record({
    type: fc.constant('AuthenticationMD5Password' as const),
    salt: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  }),
  fc.record({
    type: fc.constant('AuthenticationSASL' as const),
    mechanisms: fc.array(cstring.filter(Boolean), { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant('AuthenticationSASLContinue' as const), data: bytes }),
  fc.record({ type: fc.constant('AuthenticationSASLFinal' as const), data: bytes }),
  fc.record({
    type: fc.constant('BackendKeyData' as const),
    processId: int32,
    secretKey: fc.uint8Array({ minLength: 4, maxLength: 256 }),
  }),
  fc.record({ type: fc.constant('ParameterStatus' as const), name: cstring, value: cstring }),
  fc.record({
    type: fc.constant('ReadyForQuery' as const),
    status: fc.constantFrom<'I' | 'T' | 'E'>('I', 'T', 'E'),
  }),
  fc.record({
    type: fc.constant('RowDescription' as const),
    fields: fc.array(field, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('DataRow' as const),
    values: fc.array(nullable, { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant('CommandComplete' as const), tag: cstring }),
  fc.record({
    type: fc.constantFrom('ErrorResponse' as const, 'NoticeResponse' as const),
    fields: noticeFields,
  }),
  fc.record({
    type: fc.constant('ParameterDescription' as const),
    parameterTypes: fc.array(oid, { maxLength: 4 }),
  }),
  fc.record({
    type: fc.constantFrom(
      'CopyInResponse' as const,
      'CopyOutResponse' as const,
      'CopyBothResponse' as const
    ),
    format,
    columnFormats: fc.array(format, { maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('CopyData' as const), data: bytes }),
  fc.record({
    type: fc.constant('NotificationResponse' as const),
    processId: int32,
    channel: cstring,
    payload: cstring,
  }),
  fc.record({ type: fc.constant('FunctionCallResponse' as const), result: nullable }),
  fc.record({
    type: fc.constant('NegotiateProtocolVersion' as const),
    newestVersion: int32,
    unrecognizedOptions: fc.array(cstring, { maxLength: 3 }),
  })
)
