/**
 * The fields of ErrorResponse and NoticeResponse (55.8 Error and Notice Message Fields),
 * by name rather than by code letter, so that masking and the recorder read `detail`
 * rather than `D`. Codes a newer server adds are kept, so a decoded message re-encodes
 * to the same bytes.
 */
import { malformed } from './protocol-error.ts'
import type { MessageReader } from './reader.ts'
import type { MessageWriter } from './writer.ts'

/** Field names and their code letters, in the order Postgres sends them. */
export const NOTICE_FIELD_CODES = {
  severity: 'S',
  /** Never localised (Postgres 9.6+): match on this, not `severity`. */
  severityNonLocalized: 'V',
  /** SQLSTATE. */
  code: 'C',
  message: 'M',
  detail: 'D',
  hint: 'H',
  /** 1-based character index into the query string. */
  position: 'P',
  internalPosition: 'p',
  internalQuery: 'q',
  where: 'W',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'd',
  constraint: 'n',
  file: 'F',
  line: 'L',
  routine: 'R',
} as const

export type NoticeFieldName = keyof typeof NOTICE_FIELD_CODES

/** The fields a message carried; absent fields are absent. */
export type NoticeFields = { [name in NoticeFieldName]?: string }

/** Fields with codes this codec does not know, by code letter; sent after the known ones. */
export type UnrecognizedFields = Record<string, string>

const NAMES_BY_CODE = new Map<string, NoticeFieldName>(
  Object.entries(NOTICE_FIELD_CODES).map(([name, code]) => [code, name as NoticeFieldName])
)

/** Reads fields up to the terminating zero byte. */
export function readNoticeFields(reader: MessageReader): {
  fields: NoticeFields
  unrecognized: UnrecognizedFields
} {
  const fields: NoticeFields = {}
  const unrecognized: UnrecognizedFields = Object.create(null)
  for (;;) {
    const code = reader.uint8('field code')
    if (code === 0) break
    const letter = String.fromCharCode(code)
    const value = reader.cstring(`field '${letter}'`)
    const name = NAMES_BY_CODE.get(letter)
    if ((name ? fields[name] : unrecognized[letter]) !== undefined) {
      throw reader.error(`field '${letter}' appears twice`)
    }
    if (name) fields[name] = value
    else unrecognized[letter] = value
  }
  return { fields, unrecognized }
}

/** Writes fields in Postgres's order, then unrecognized ones, then the terminator. */
export function writeNoticeFields(
  writer: MessageWriter,
  fields: NoticeFields,
  unrecognized: UnrecognizedFields = {}
): void {
  for (const [name, code] of Object.entries(NOTICE_FIELD_CODES)) {
    const value = fields[name as NoticeFieldName]
    if (value !== undefined) writer.uint8(code.charCodeAt(0)).cstring(value)
  }
  for (const [code, value] of Object.entries(unrecognized)) {
    writer.uint8(singleByte(code)).cstring(value)
  }
  writer.uint8(0)
}

function singleByte(code: string): number {
  const byte = code.charCodeAt(0)
  if (code.length !== 1 || byte === 0 || byte > 0xff || NAMES_BY_CODE.has(code)) {
    throw malformed(
      `Cannot encode notice field code ${JSON.stringify(code)}: not a single unknown non-zero byte.`
    )
  }
  return byte
}
