/**
 * Typed messages a client sends once started (55.7 Message Formats, marked F): what the
 * gateway classifies, records and forwards. Text is decoded strictly as UTF-8, because a
 * statement the gateway judges must be exactly the statement the origin runs.
 */
import type { MessageFrame } from './framer.ts'
import { describeTypeByte, malformed } from './protocol-error.ts'
import { type FormatCode, MessageReader } from './reader.ts'
import { MessageWriter } from './writer.ts'

/** A prepared statement or a portal; Describe and Close name one or the other. */
export type Target = 'statement' | 'portal'

export type Query = { type: 'Query'; sql: string }
export type Parse = {
  type: 'Parse'
  /** Prepared statement name; '' is the unnamed statement. */
  statement: string
  query: string
  /** Parameter type OIDs the client fixes in advance (0: let the server infer). */
  parameterTypes: number[]
}
export type Bind = {
  type: 'Bind'
  /** '' is the unnamed portal. */
  portal: string
  statement: string
  /** None: all text; one: applies to all; else one per parameter. */
  parameterFormats: FormatCode[]
  /** Values as sent; null is SQL NULL. */
  parameters: (Uint8Array | null)[]
  /** Same rule as parameterFormats, over the result columns. */
  resultFormats: FormatCode[]
}
export type Describe = { type: 'Describe'; target: Target; name: string }
export type Execute = {
  type: 'Execute'
  portal: string
  /** Rows to return before PortalSuspended; 0 means all. */
  maxRows: number
}
export type Close = { type: 'Close'; target: Target; name: string }
export type Sync = { type: 'Sync' }
export type Flush = { type: 'Flush' }
export type Terminate = { type: 'Terminate' }
export type CopyData = { type: 'CopyData'; data: Uint8Array }
export type CopyDone = { type: 'CopyDone' }
export type CopyFail = { type: 'CopyFail'; message: string }
export type FunctionCall = {
  type: 'FunctionCall'
  functionOid: number
  argumentFormats: FormatCode[]
  arguments: (Uint8Array | null)[]
  resultFormat: FormatCode
}
/**
 * A 'p' message before it is known which kind it is: the same type byte carries a
 * password, SASL messages and GSSAPI data, and only the authentication request the
 * server sent tells them apart. Decode it with the matching function below.
 */
export type AuthenticationResponse = { type: 'AuthenticationResponse'; data: Uint8Array }
/** A cleartext password, or `md5` and 32 hex digits. */
export type PasswordMessage = { type: 'PasswordMessage'; password: string }
export type SASLInitialResponse = {
  type: 'SASLInitialResponse'
  mechanism: string
  /** The client-first-message; null when the mechanism has no initial response. */
  data: Uint8Array | null
}
export type SASLResponse = { type: 'SASLResponse'; data: Uint8Array }
export type GSSResponse = { type: 'GSSResponse'; data: Uint8Array }

export type FrontendMessage =
  | Query
  | Parse
  | Bind
  | Describe
  | Execute
  | Close
  | Sync
  | Flush
  | Terminate
  | CopyData
  | CopyDone
  | CopyFail
  | FunctionCall
  | AuthenticationResponse
  | PasswordMessage
  | SASLInitialResponse
  | SASLResponse
  | GSSResponse

/**
 * Decodes a typed frontend message. A 'p' frame comes back as AuthenticationResponse;
 * an unknown type byte is refused (the framer passed it through so this can name it).
 */
export function decodeFrontendMessage(frame: MessageFrame): FrontendMessage {
  const name = FRONTEND_TYPES[frame.type]
  if (!name) {
    throw malformed(
      `Unknown Postgres frontend message type ${describeTypeByte(frame.type.charCodeAt(0))}.`
    )
  }
  const reader = new MessageReader(frame.body, name, 'strict')
  const message = decodeBody(name, reader)
  reader.end()
  return message
}

/** The types decodeFrontendMessage returns; the other 'p' readings have their own decoders. */
type DecodedType = Exclude<
  FrontendMessage['type'],
  'PasswordMessage' | 'SASLInitialResponse' | 'SASLResponse' | 'GSSResponse'
>

const FRONTEND_TYPES: Record<string, DecodedType> = {
  Q: 'Query',
  P: 'Parse',
  B: 'Bind',
  D: 'Describe',
  E: 'Execute',
  C: 'Close',
  S: 'Sync',
  H: 'Flush',
  X: 'Terminate',
  d: 'CopyData',
  c: 'CopyDone',
  f: 'CopyFail',
  F: 'FunctionCall',
  p: 'AuthenticationResponse',
}

function decodeBody(type: DecodedType, reader: MessageReader): FrontendMessage {
  switch (type) {
    case 'Query':
      return { type, sql: reader.cstring('query string') }
    case 'Parse': {
      const statement = reader.cstring('statement name')
      const query = reader.cstring('query string')
      const count = reader.count16('parameter type count', 4)
      const parameterTypes: number[] = []
      for (let i = 1; i <= count; i++) parameterTypes.push(reader.uint32('parameter type', i))
      return { type, statement, query, parameterTypes }
    }
    case 'Bind': {
      const portal = reader.cstring('portal name')
      const statement = reader.cstring('statement name')
      const parameterFormats = reader.formatCodes('parameter format')
      const parameters = nullableValues(reader, 'parameter')
      checkFormatCount(reader, parameterFormats.length, parameters.length, 'parameter')
      const resultFormats = reader.formatCodes('result format')
      return { type, portal, statement, parameterFormats, parameters, resultFormats }
    }
    case 'Describe':
    case 'Close':
      return { type, target: target(reader), name: reader.cstring('name') }
    case 'Execute':
      return { type, portal: reader.cstring('portal name'), maxRows: reader.int32('row limit') }
    case 'CopyFail':
      return { type, message: reader.cstring('error message') }
    case 'FunctionCall': {
      const functionOid = reader.uint32('function OID')
      const argumentFormats = reader.formatCodes('argument format')
      const args = nullableValues(reader, 'argument')
      checkFormatCount(reader, argumentFormats.length, args.length, 'argument')
      const resultFormat = reader.formatCode('result format')
      return { type, functionOid, argumentFormats, arguments: args, resultFormat }
    }
    case 'CopyData':
    case 'AuthenticationResponse':
      return { type, data: reader.rest() }
    case 'Sync':
    case 'Flush':
    case 'Terminate':
    case 'CopyDone':
      return { type }
  }
}

function target(reader: MessageReader): Target {
  const byte = reader.uint8('target')
  if (byte === 0x53) return 'statement'
  if (byte === 0x50) return 'portal'
  throw reader.error(`target is ${describeTypeByte(byte)}, not 'S' (statement) or 'P' (portal)`)
}

function nullableValues(reader: MessageReader, what: string): (Uint8Array | null)[] {
  const count = reader.count16(`${what} count`, 4)
  const values: (Uint8Array | null)[] = []
  for (let i = 1; i <= count; i++) values.push(reader.nullableBytes(what, i))
  return values
}

/** Postgres refuses a Bind whose format list is neither empty, single, nor one per value. */
function checkFormatCount(reader: MessageReader, formats: number, values: number, what: string) {
  if (formats > 1 && formats !== values) {
    throw reader.error(`${formats} ${what} format codes for ${values} ${what}s`)
  }
}

/** Reads a 'p' frame as a PasswordMessage (after AuthenticationCleartextPassword or MD5Password). */
export function decodePasswordMessage(frame: MessageFrame): PasswordMessage {
  const reader = authReader(frame, 'PasswordMessage')
  const password = reader.cstring('password')
  reader.end()
  return { type: 'PasswordMessage', password }
}

/** Reads a 'p' frame as a SASLInitialResponse (after AuthenticationSASL). */
export function decodeSaslInitialResponse(frame: MessageFrame): SASLInitialResponse {
  const reader = authReader(frame, 'SASLInitialResponse')
  const mechanism = reader.cstring('mechanism')
  const data = reader.nullableBytes('initial response')
  reader.end()
  return { type: 'SASLInitialResponse', mechanism, data }
}

/** Reads a 'p' frame as a SASLResponse (after AuthenticationSASLContinue). */
export function decodeSaslResponse(frame: MessageFrame): SASLResponse {
  return { type: 'SASLResponse', data: authReader(frame, 'SASLResponse').rest() }
}

/** Reads a 'p' frame as a GSSResponse (after AuthenticationGSS or GSSContinue). */
export function decodeGssResponse(frame: MessageFrame): GSSResponse {
  return { type: 'GSSResponse', data: authReader(frame, 'GSSResponse').rest() }
}

function authReader(frame: MessageFrame, name: string): MessageReader {
  if (frame.type !== 'p') {
    throw malformed(
      `Expected a Postgres ${name} ('p'), got message type ${describeTypeByte(frame.type.charCodeAt(0))}.`
    )
  }
  return new MessageReader(frame.body, name, 'strict')
}

const TYPE_BYTES: Record<FrontendMessage['type'], string> = {
  Query: 'Q',
  Parse: 'P',
  Bind: 'B',
  Describe: 'D',
  Execute: 'E',
  Close: 'C',
  Sync: 'S',
  Flush: 'H',
  Terminate: 'X',
  CopyData: 'd',
  CopyDone: 'c',
  CopyFail: 'f',
  FunctionCall: 'F',
  AuthenticationResponse: 'p',
  PasswordMessage: 'p',
  SASLInitialResponse: 'p',
  SASLResponse: 'p',
  GSSResponse: 'p',
}

/** Encodes a typed frontend message, as the gateway sends it to an origin. */
export function encodeFrontendMessage(message: FrontendMessage): Uint8Array {
  const sizeHint = 'data' in message && message.data ? message.data.length + 8 : 64
  const writer = new MessageWriter(TYPE_BYTES[message.type], message.type, sizeHint)
  switch (message.type) {
    case 'Query':
      writer.cstring(message.sql)
      break
    case 'Parse':
      writer.cstring(message.statement).cstring(message.query)
      writer.count16(message.parameterTypes.length)
      for (const oid of message.parameterTypes) writer.uint32(oid)
      break
    case 'Bind':
      writer.cstring(message.portal).cstring(message.statement)
      writer.formatCodes(message.parameterFormats)
      writer.count16(message.parameters.length)
      for (const value of message.parameters) writer.nullableBytes(value)
      writer.formatCodes(message.resultFormats)
      break
    case 'Describe':
    case 'Close':
      writer.uint8(message.target === 'statement' ? 0x53 : 0x50).cstring(message.name)
      break
    case 'Execute':
      writer.cstring(message.portal).int32(message.maxRows)
      break
    case 'CopyFail':
      writer.cstring(message.message)
      break
    case 'FunctionCall':
      writer.uint32(message.functionOid).formatCodes(message.argumentFormats)
      writer.count16(message.arguments.length)
      for (const value of message.arguments) writer.nullableBytes(value)
      writer.int16(message.resultFormat)
      break
    case 'PasswordMessage':
      writer.cstring(message.password)
      break
    case 'SASLInitialResponse':
      writer.cstring(message.mechanism).nullableBytes(message.data)
      break
    case 'CopyData':
    case 'AuthenticationResponse':
    case 'SASLResponse':
    case 'GSSResponse':
      writer.bytes(message.data)
      break
    case 'Sync':
    case 'Flush':
    case 'Terminate':
    case 'CopyDone':
      break
  }
  return writer.finish()
}
