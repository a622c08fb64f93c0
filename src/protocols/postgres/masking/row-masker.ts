/**
 * Masks result rows on the wire: a plan per result set says which columns are sensitive
 * (and why) and which are scanned by detectors; DataRow messages are rewritten with the
 * new lengths, and left as they came when nothing in them changed. A sensitive value in
 * a binary format that cannot hold text is replaced by NULL, never passed.
 */
import type { MaskingProfile } from '../../../masking/profile.ts'
import {
  type MaskFunction,
  type MaskReason,
  type MaskTally,
  tallyOf,
} from '../../../masking/types.ts'
import type { FieldDescription } from '../codec/backend.ts'

/** How one result column is treated. */
export type ColumnPlan =
  /** Sensitive: every non-null value is rewritten with `mask`. */
  | { kind: 'mask'; reasons: readonly MaskReason[]; mask: MaskFunction; encoding: CellEncoding }
  /** Not sensitive by origin, but its text is scanned by the detectors. */
  | { kind: 'scan'; encoding: Exclude<CellEncoding, 'opaque'> }
  | { kind: 'pass' }

/**
 * How a value's bytes hold its text: as is, as JSON text (json, or jsonb in text format),
 * as jsonb's binary form, or not at all.
 */
type CellEncoding = 'text' | 'json' | 'jsonb' | 'opaque'

export type RowPlan = {
  columns: readonly ColumnPlan[]
  /** False when every column passes: rows are not even looked at. */
  touches: boolean
}

/** Types whose binary form is their text (54.7 / each type's send function). */
const TEXT_BINARY_OIDS = new Set([18, 19, 25, 142, 705, 1042, 1043])
const JSON_OID = 114
const JSONB_OID = 3802
/** jsonb's binary form: a version byte (1), then the text. */
const JSONB_VERSION = 1
/** Text-format types that cannot carry a secret worth scanning for. */
const UNSCANNED_OIDS = new Set([16, 21, 23, 26, 700, 701, 1082, 1083, 1114, 1184, 1186, 1266, 2950])

/**
 * The plan for a result set: `reasons[i]` is why column i is sensitive (empty: it is not).
 */
export function planRows(
  fields: readonly FieldDescription[],
  reasons: readonly (readonly MaskReason[])[],
  profile: MaskingProfile
): RowPlan {
  const scanning = profile.text.active
  const columns = fields.map((field, index): ColumnPlan => {
    const why = reasons[index] ?? []
    const encoding = encodingOf(field)
    if (why.length > 0) return { kind: 'mask', reasons: why, mask: profile.maskFor(why), encoding }
    if (!scanning || encoding === 'opaque') return { kind: 'pass' }
    if (field.format === 0 && UNSCANNED_OIDS.has(field.dataTypeOid)) return { kind: 'pass' }
    return { kind: 'scan', encoding }
  })
  return { columns, touches: columns.some((column) => column.kind !== 'pass') }
}

function encodingOf(field: FieldDescription): CellEncoding {
  const oid = field.dataTypeOid
  if (oid === JSON_OID || (oid === JSONB_OID && field.format === 0)) return 'json'
  if (oid === JSONB_OID) return 'jsonb'
  return field.format === 0 || TEXT_BINARY_OIDS.has(oid) ? 'text' : 'opaque'
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/**
 * A DataRow frame with its planned columns masked; the same array when nothing changed.
 * `masked` collects the indexes of columns that changed, for the notice to the client.
 */
export function maskDataRow(
  frame: Uint8Array,
  plan: RowPlan,
  profile: MaskingProfile,
  tally: MaskTally,
  masked: Set<number>
): Uint8Array {
  if (!plan.touches) return frame
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const count = view.getInt16(5)
  let offset = 7
  let parts: Uint8Array[] | undefined
  let copiedTo = 0
  let length = frame.byteLength
  for (let index = 0; index < count; index++) {
    const size = view.getInt32(offset)
    const start = offset + 4
    const end = size < 0 ? start : start + size
    const column = plan.columns[index]
    offset = end
    if (size < 0 || !column || column.kind === 'pass') continue
    const cell = frame.subarray(start, end)
    const replaced = maskCell(cell, column, profile, tally)
    if (replaced === cell) continue
    masked.add(index)
    parts ??= []
    parts.push(frame.subarray(copiedTo, start - 4), cellBytes(replaced))
    copiedTo = end
    length += (replaced?.byteLength ?? 0) - (end - start)
  }
  if (!parts) return frame
  parts.push(frame.subarray(copiedTo))
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.byteLength
  }
  new DataView(out.buffer).setInt32(1, length - 1)
  return out
}

/** A cell's length word and bytes; null is length -1. */
function cellBytes(value: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(4 + (value?.byteLength ?? 0))
  new DataView(out.buffer).setInt32(0, value ? value.byteLength : -1)
  if (value) out.set(value, 4)
  return out
}

/** The masked cell, `cell` itself when unchanged, or null for a value that must go. */
function maskCell(
  cell: Uint8Array,
  column: Exclude<ColumnPlan, { kind: 'pass' }>,
  profile: MaskingProfile,
  tally: MaskTally
): Uint8Array | null {
  if (column.encoding === 'opaque') {
    if (column.kind === 'mask') for (const reason of column.reasons) tallyOf(tally, reason)
    return null
  }
  const jsonb = column.encoding === 'jsonb'
  const json = jsonb || column.encoding === 'json'
  if (jsonb && cell[0] !== JSONB_VERSION) return null
  const text = decoder.decode(jsonb ? cell.subarray(1) : cell)
  let out: string
  if (column.kind === 'mask') {
    out = column.mask(text)
    for (const reason of column.reasons) tallyOf(tally, reason)
    // A json value must stay JSON for the client to parse: the mask becomes a JSON string.
    if (json) out = JSON.stringify(out)
  } else {
    out = profile.text.mask(text, tally)
    if (out === text) return cell
    if (json && !isJson(out)) out = JSON.stringify(out)
  }
  const bytes = encoder.encode(out)
  if (!jsonb) return bytes
  const framed = new Uint8Array(bytes.byteLength + 1)
  framed[0] = JSONB_VERSION
  framed.set(bytes, 1)
  return framed
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
