/**
 * Messages a server sends (55.7 Message Formats, marked B): what the gateway reads from
 * origins to authenticate, mask rows and record outcomes, and what it sends to clients
 * as their server. Text is decoded leniently (U+FFFD for bad bytes): origin text is only
 * displayed and recorded, and a SQL_ASCII database may send anything.
 */
import {
  type AuthenticationRequest,
  decodeAuthenticationRequest,
  encodeAuthenticationRequest,
  isAuthenticationRequest,
} from './authentication.ts'
import type { MessageFrame } from './framer.ts'
import {
  type NoticeFields,
  readNoticeFields,
  type UnrecognizedFields,
  writeNoticeFields,
} from './notice-fields.ts'
import { describeTypeByte, malformed } from './protocol-error.ts'
import { type FormatCode, MessageReader } from './reader.ts'
import { MAX_CANCEL_KEY_BYTES, MIN_CANCEL_KEY_BYTES } from './startup.ts'
import { MessageWriter } from './writer.ts'

export type BackendKeyData = { type: 'BackendKeyData'; processId: number; secretKey: Uint8Array }
export type ParameterStatus = { type: 'ParameterStatus'; name: string; value: string }
/** Idle, in a transaction block, or in a failed transaction block. */
export type TransactionStatus = 'I' | 'T' | 'E'
export type ReadyForQuery = { type: 'ReadyForQuery'; status: TransactionStatus }
export type FieldDescription = {
  name: string
  /** 0 when the column is not a table column. */
  tableOid: number
  /** 0 when the column is not a table column. */
  columnAttributeNumber: number
  dataTypeOid: number
  /** pg_type.typlen: negative for variable-width types. */
  dataTypeSize: number
  /** pg_attribute.atttypmod; -1 when none. */
  typeModifier: number
  format: FormatCode
}
export type RowDescription = { type: 'RowDescription'; fields: FieldDescription[] }
/** Column values as views into the frame; null is SQL NULL (length -1). */
export type DataRow = { type: 'DataRow'; values: (Uint8Array | null)[] }
/** The command tag: `SELECT 1`, `INSERT 0 5`, `COPY 2`, ... */
export type CommandComplete = { type: 'CommandComplete'; tag: string }
export type EmptyQueryResponse = { type: 'EmptyQueryResponse' }
export type ErrorResponse = {
  type: 'ErrorResponse'
  fields: NoticeFields
  /** Fields with codes newer than this codec, kept so the message re-encodes unchanged. */
  unrecognized?: UnrecognizedFields
}
export type NoticeResponse = {
  type: 'NoticeResponse'
  fields: NoticeFields
  unrecognized?: UnrecognizedFields
}
export type ParseComplete = { type: 'ParseComplete' }
export type BindComplete = { type: 'BindComplete' }
export type CloseComplete = { type: 'CloseComplete' }
export type NoData = { type: 'NoData' }
export type PortalSuspended = { type: 'PortalSuspended' }
export type ParameterDescription = { type: 'ParameterDescription'; parameterTypes: number[] }
export type CopyResponse = {
  type: 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse'
  /** Overall format: 0 textual (columns are then all 0), 1 binary. */
  format: FormatCode
  columnFormats: FormatCode[]
}
export type CopyData = { type: 'CopyData'; data: Uint8Array }
export type CopyDone = { type: 'CopyDone' }
export type NotificationResponse = {
  type: 'NotificationResponse'
  processId: number
  channel: string
  payload: string
}
export type FunctionCallResponse = { type: 'FunctionCallResponse'; result: Uint8Array | null }
export type NegotiateProtocolVersion = {
  type: 'NegotiateProtocolVersion'
  /** The newest version the server speaks, as a full code (Postgres sends 196608, 3.0). */
  newestVersion: number
  /** `_pq_.` options from the StartupMessage that the server did not recognise. */
  unrecognizedOptions: string[]
}

export type BackendMessage =
  | AuthenticationRequest
  | BackendKeyData
  | ParameterStatus
  | ReadyForQuery
  | RowDescription
  | DataRow
  | CommandComplete
  | EmptyQueryResponse
  | ErrorResponse
  | NoticeResponse
  | ParseComplete
  | BindComplete
  | CloseComplete
  | NoData
  | PortalSuspended
  | ParameterDescription
  | CopyResponse
  | CopyData
  | CopyDone
  | NotificationResponse
  | FunctionCallResponse
  | NegotiateProtocolVersion

/** Type bytes of everything but the Authentication requests, which all use 'R'. */
const TYPE_BYTES: Record<Exclude<BackendMessage, AuthenticationRequest>['type'], string> = {
  BackendKeyData: 'K',
  ParameterStatus: 'S',
  ReadyForQuery: 'Z',
  RowDescription: 'T',
  DataRow: 'D',
  CommandComplete: 'C',
  EmptyQueryResponse: 'I',
  ErrorResponse: 'E',
  NoticeResponse: 'N',
  ParseComplete: '1',
  BindComplete: '2',
  CloseComplete: '3',
  NoData: 'n',
  PortalSuspended: 's',
  ParameterDescription: 't',
  CopyInResponse: 'G',
  CopyOutResponse: 'H',
  CopyBothResponse: 'W',
  CopyData: 'd',
  CopyDone: 'c',
  NotificationResponse: 'A',
  FunctionCallResponse: 'V',
  NegotiateProtocolVersion: 'v',
}
type OtherType = keyof typeof TYPE_BYTES
const BACKEND_TYPES = new Map(
  Object.entries(TYPE_BYTES).map(([type, byte]) => [byte, type as OtherType])
)

/** Decodes a backend message; unknown type bytes and authentication codes are refused. */
export function decodeBackendMessage(frame: MessageFrame): BackendMessage {
  if (frame.type === 'R') return decodeAuthenticationRequest(frame.body)
  const type = BACKEND_TYPES.get(frame.type)
  if (!type) {
    throw malformed(
      `Unknown Postgres backend message type ${describeTypeByte(frame.type.charCodeAt(0))}.`
    )
  }
  const reader = new MessageReader(frame.body, type, 'lenient')
  const message = decodeBody(type, reader)
  reader.end()
  return message
}

function decodeBody(type: OtherType, reader: MessageReader): BackendMessage {
  switch (type) {
    case 'CopyData':
      return { type, data: reader.rest() }
    case 'BackendKeyData': {
      const processId = reader.int32('process ID')
      const secretKey = reader.rest()
      if (secretKey.length < MIN_CANCEL_KEY_BYTES || secretKey.length > MAX_CANCEL_KEY_BYTES) {
        throw reader.error(`secret key is ${secretKey.length} bytes, not 4 to 256`)
      }
      return { type, processId, secretKey }
    }
    case 'ParameterStatus':
      return { type, name: reader.cstring('name'), value: reader.cstring('value') }
    case 'ReadyForQuery': {
      const status = String.fromCharCode(reader.uint8('transaction status'))
      if (status !== 'I' && status !== 'T' && status !== 'E') {
        throw reader.error(`transaction status is ${JSON.stringify(status)}, not I, T or E`)
      }
      return { type, status }
    }
    case 'RowDescription': {
      // A field is at least a NUL (empty name) and 18 bytes of fixed fields.
      const count = reader.count16('field count', 19)
      const fields: FieldDescription[] = []
      for (let i = 1; i <= count; i++) fields.push(fieldDescription(reader, i))
      return { type, fields }
    }
    case 'DataRow': {
      const count = reader.count16('column count', 4)
      const values: (Uint8Array | null)[] = []
      for (let i = 1; i <= count; i++) values.push(reader.nullableBytes('column', i))
      return { type, values }
    }
    case 'CommandComplete':
      return { type, tag: reader.cstring('command tag') }
    case 'ErrorResponse':
    case 'NoticeResponse': {
      const { fields, unrecognized } = readNoticeFields(reader)
      return Object.keys(unrecognized).length ? { type, fields, unrecognized } : { type, fields }
    }
    case 'ParameterDescription': {
      const count = reader.count16('parameter count', 4)
      const parameterTypes: number[] = []
      for (let i = 1; i <= count; i++) parameterTypes.push(reader.uint32('parameter type', i))
      return { type, parameterTypes }
    }
    case 'CopyInResponse':
    case 'CopyOutResponse':
    case 'CopyBothResponse': {
      const format = reader.uint8('overall format')
      if (format !== 0 && format !== 1) throw reader.error(`overall format is ${format}`)
      return { type, format, columnFormats: reader.formatCodes('column format') }
    }
    case 'NotificationResponse':
      return {
        type,
        processId: reader.int32('process ID'),
        channel: reader.cstring('channel'),
        payload: reader.cstring('payload'),
      }
    case 'FunctionCallResponse':
      return { type, result: reader.nullableBytes('result') }
    case 'NegotiateProtocolVersion': {
      const newestVersion = reader.int32('newest protocol version')
      const count = reader.count32('option count', 1)
      const unrecognizedOptions: string[] = []
      for (let i = 0; i < count; i++) unrecognizedOptions.push(reader.cstring('option name'))
      return { type, newestVersion, unrecognizedOptions }
    }
    case 'EmptyQueryResponse':
    case 'ParseComplete':
    case 'BindComplete':
    case 'CloseComplete':
    case 'NoData':
    case 'PortalSuspended':
    case 'CopyDone':
      return { type }
  }
}

function fieldDescription(reader: MessageReader, n: number): FieldDescription {
  return {
    name: reader.cstring('name of field', n),
    tableOid: reader.uint32('table OID of field', n),
    columnAttributeNumber: reader.int16('column number of field', n),
    dataTypeOid: reader.uint32('type OID of field', n),
    dataTypeSize: reader.int16('type size of field', n),
    typeModifier: reader.int32('type modifier of field', n),
    format: reader.formatCode('format of field', n),
  }
}

/** Encodes a backend message: what the gateway sends its clients as their server. */
export function encodeBackendMessage(message: BackendMessage): Uint8Array {
  if (isAuthenticationRequest(message)) return encodeAuthenticationRequest(message)
  const writer = new MessageWriter(TYPE_BYTES[message.type], message.type, sizeHint(message))
  switch (message.type) {
    case 'BackendKeyData':
      writer.int32(message.processId).bytes(message.secretKey)
      break
    case 'ParameterStatus':
      writer.cstring(message.name).cstring(message.value)
      break
    case 'ReadyForQuery':
      writer.uint8(message.status.charCodeAt(0))
      break
    case 'RowDescription':
      writer.count16(message.fields.length)
      for (const field of message.fields) {
        writer.cstring(field.name).uint32(field.tableOid).int16(field.columnAttributeNumber)
        writer.uint32(field.dataTypeOid).int16(field.dataTypeSize).int32(field.typeModifier)
        writer.int16(field.format)
      }
      break
    case 'DataRow':
      writer.count16(message.values.length)
      for (const value of message.values) writer.nullableBytes(value)
      break
    case 'CommandComplete':
      writer.cstring(message.tag)
      break
    case 'ErrorResponse':
    case 'NoticeResponse':
      writeNoticeFields(writer, message.fields, message.unrecognized)
      break
    case 'ParameterDescription':
      writer.count16(message.parameterTypes.length)
      for (const oid of message.parameterTypes) writer.uint32(oid)
      break
    case 'CopyInResponse':
    case 'CopyOutResponse':
    case 'CopyBothResponse':
      writer.uint8(message.format).formatCodes(message.columnFormats)
      break
    case 'CopyData':
      writer.bytes(message.data)
      break
    case 'NotificationResponse':
      writer.int32(message.processId).cstring(message.channel).cstring(message.payload)
      break
    case 'FunctionCallResponse':
      writer.nullableBytes(message.result)
      break
    case 'NegotiateProtocolVersion':
      writer.int32(message.newestVersion).int32(message.unrecognizedOptions.length)
      for (const option of message.unrecognizedOptions) writer.cstring(option)
      break
  }
  return writer.finish()
}

/** Room for a DataRow's values up front, so big rows are not copied while growing. */
function sizeHint(message: Exclude<BackendMessage, AuthenticationRequest>): number {
  if (message.type === 'DataRow') {
    let bytes = 7
    for (const value of message.values) bytes += 4 + (value?.length ?? 0)
    return bytes
  }
  if ('data' in message) return message.data.length + 9
  return 64
}
