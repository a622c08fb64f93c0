/**
 * Masks `COPY … TO STDOUT` rows. The server sends one CopyData message per row, in the
 * text format (delimited, backslash escapes, `\N` for null) or CSV (quoted fields); each
 * row is split into fields, the planned ones masked, and the row written back the same
 * way. Binary COPY of sensitive data is refused before it starts (see statement-plans).
 */

import type { MaskingProfile } from '../../../masking/profile.ts'
import type { CopyOut } from '../../../masking/sql/index.ts'
import {
  type MaskFunction,
  type MaskReason,
  type MaskTally,
  tallyOf,
} from '../../../masking/types.ts'

/** One field of a COPY row: masked (sensitive), scanned by detectors, or passed. */
export type CopyColumn =
  | { kind: 'mask'; reasons: readonly MaskReason[]; mask: MaskFunction }
  | { kind: 'scan' }
  | { kind: 'pass' }

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** The row with its planned fields masked; `row` itself when nothing changed. */
export function maskCopyRow(
  row: Uint8Array,
  copy: CopyOut,
  columns: readonly CopyColumn[],
  profile: MaskingProfile,
  tally: MaskTally
): Uint8Array {
  const line = decoder.decode(row)
  const ending = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : ''
  const body = line.slice(0, line.length - ending.length)
  // Each field as written (`raw`) and as its value; null fields are left alone.
  const fields: CsvField[] =
    copy.format === 'csv'
      ? splitCsv(body, copy)
      : splitText(body, copy.delimiter).map((raw) => ({ raw, value: unescapeText(raw) }))
  let changed = false
  const out = fields.map((field, index) => {
    const column = columns[index] ?? { kind: 'scan' }
    if (column.kind === 'pass' || field.raw === copy.nullString) return field.raw
    let masked: string
    if (column.kind === 'mask') {
      masked = column.mask(field.value)
      for (const reason of column.reasons) tallyOf(tally, reason)
    } else {
      masked = profile.text.mask(field.value, tally)
      if (masked === field.value) return field.raw
    }
    changed = true
    return copy.format === 'csv' ? quoteCsv(masked, copy) : escapeText(masked, copy.delimiter)
  })
  if (!changed) return row
  const joined = out.join(copy.delimiter)
  return encoder.encode(joined + ending)
}

type CsvField = { raw: string; value: string }

/** Splits a CSV row (one CopyData, so quoted newlines are inside it) into raw and value. */
function splitCsv(line: string, copy: CopyOut): CsvField[] {
  const fields: CsvField[] = []
  let index = 0
  for (;;) {
    const start = index
    let value = ''
    if (line[index] === copy.quote) {
      index++
      for (;;) {
        const char = line[index]
        if (char === undefined) break
        // An escaped quote (by default a doubled one) is part of the value.
        if (char === copy.escape && line[index + 1] === copy.quote) {
          value += copy.quote
          index += 2
          continue
        }
        if (char === copy.quote) {
          index++
          break
        }
        value += char
        index++
      }
    }
    const next = line.indexOf(copy.delimiter, index)
    const end = next < 0 ? line.length : next
    if (line[start] !== copy.quote) value = line.slice(start, end)
    fields.push({ raw: line.slice(start, end), value })
    if (next < 0) return fields
    index = next + copy.delimiter.length
  }
}

function quoteCsv(value: string, copy: CopyOut): string {
  const escaped = value.replaceAll(copy.quote, copy.escape + copy.quote)
  return `${copy.quote}${escaped}${copy.quote}`
}

const TEXT_ESCAPES: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
}

/** COPY text format: backslash escapes (COPY, "File Formats"). */
function unescapeText(field: string): string {
  if (!field.includes('\\')) return field
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, code: string) => {
    if (code[0] === 'x') return String.fromCharCode(Number.parseInt(code.slice(1), 16))
    if (/^[0-7]/.test(code)) return String.fromCharCode(Number.parseInt(code, 8))
    return TEXT_ESCAPES[code] ?? code
  })
}

/** Splits at delimiters that are not escaped (a data delimiter is sent as `\<char>`). */
function splitText(line: string, delimiter: string): string[] {
  const fields: string[] = []
  let start = 0
  for (let index = 0; index < line.length; index++) {
    const char = line[index]
    if (char === '\\') index++
    else if (char === delimiter) {
      fields.push(line.slice(start, index))
      start = index + 1
    }
  }
  fields.push(line.slice(start))
  return fields
}

/** As COPY itself writes text: backslash, newline, carriage return, tab and the delimiter escaped. */
function escapeText(value: string, delimiter: string): string {
  let out = ''
  for (const char of value) {
    if (char === '\\') out += '\\\\'
    else if (char === '\n') out += '\\n'
    else if (char === '\r') out += '\\r'
    else if (char === '\t') out += '\\t'
    else if (char === delimiter) out += `\\${char}`
    else out += char
  }
  return out
}
