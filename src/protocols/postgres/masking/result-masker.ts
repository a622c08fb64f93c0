/**
 * Masks one command's responses as they pass: each result set's RowDescription (or, in
 * the extended protocol, the Describe answer) is matched with the statement's lineage
 * and the origin's catalog to plan its columns; rows and COPY data are rewritten by the
 * plan; before each CommandComplete a NoticeResponse tells the client what was masked.
 */
import { type MaskingProfile, UNKNOWN_LINEAGE_REASON } from '../../../masking/profile.ts'
import { copyOutOptions } from '../../../masking/sql/copy-options.ts'
import { alignLineage, type CopyOut, type StatementLineage } from '../../../masking/sql/index.ts'
import type { MaskReason, MaskTally } from '../../../masking/types.ts'
import {
  decodeBackendMessage,
  encodeBackendMessage,
  type FieldDescription,
} from '../codec/backend.ts'
import type { MessageFrame } from '../codec/framer.ts'
import { noticeResponse } from '../wire-errors.ts'
import type { MaskingCatalog } from './catalog.ts'
import { type CopyColumn, maskCopyRow } from './copy-rows.ts'
import { maskDataRow, planRows, type RowPlan } from './row-masker.ts'

/** What masking knows about one statement of a command. */
export type StatementPlan = {
  /** Its lineage, or null when it reads nothing sensitive (detectors still run). */
  lineage: StatementLineage | null
}

export class ResultMasker {
  readonly tally: MaskTally = new Map()
  /** Names of the result columns that had values masked, for the JSON API's answer. */
  readonly maskedColumns = new Set<string>()
  readonly #profile: MaskingProfile
  readonly #catalog: MaskingCatalog | null
  readonly #statements: readonly StatementPlan[]
  #index = 0
  #fields: readonly FieldDescription[] = []
  #rows: RowPlan | undefined
  #copy: { columns: CopyColumn[]; options: CopyOut; header: boolean } | undefined
  readonly #changed = new Set<number>()
  /** The tally when the current result set began, so its notice names only its own reasons. */
  #tallyBefore: ReadonlyMap<string, number> = new Map()

  constructor(
    profile: MaskingProfile,
    catalog: MaskingCatalog | null,
    statements: readonly StatementPlan[]
  ) {
    this.#profile = profile
    this.#catalog = catalog
    this.#statements = statements
  }

  /** The columns of the portal about to run, from a Describe (extended protocol). */
  describe(fields: readonly FieldDescription[]): void {
    this.#fields = fields
    this.#rows = planRows(fields, this.#reasons(fields), this.#profile)
  }

  /** What to send the client for one origin message of this command. */
  transform(frame: MessageFrame): Uint8Array[] {
    switch (frame.type) {
      case 'T': {
        const message = decodeBackendMessage(frame)
        if (message.type === 'RowDescription') this.describe(message.fields)
        return [frame.bytes]
      }
      case 'D':
        this.#rows ??= this.#blindPlan(frame)
        return [maskDataRow(frame.bytes, this.#rows, this.#profile, this.tally, this.#changed)]
      case 'H':
        this.#startCopy(frame)
        return [frame.bytes]
      case 'd':
        return [this.#copyRow(frame)]
      case 'C':
      case 'I':
      case 's': {
        const notice = this.#notice()
        if (frame.type !== 's') this.#next()
        return notice ? [notice, frame.bytes] : [frame.bytes]
      }
      default:
        return [frame.bytes]
    }
  }

  /** Why each column is sensitive: the statement's traced lineage, plus the catalog's own. */
  #reasons(fields: readonly FieldDescription[]): MaskReason[][] {
    const lineage = this.#statements[this.#index]?.lineage ?? null
    const traced = lineage ? tracedReasons(lineage, fields.length) : undefined
    return fields.map((field, index) => {
      const direct = this.#catalog?.direct.get(`${field.tableOid}:${field.columnAttributeNumber}`)
      const reasons = traced === null ? [UNKNOWN_LINEAGE_REASON] : [...(traced?.[index] ?? [])]
      for (const reason of direct ?? []) if (!reasons.includes(reason)) reasons.push(reason)
      return reasons
    })
  }

  /** Rows with no description seen: every column is treated as sensitive and opaque. */
  #blindPlan(frame: MessageFrame): RowPlan {
    const count = new DataView(frame.body.buffer, frame.body.byteOffset).getInt16(0)
    const fields = Array.from(
      { length: count },
      (): FieldDescription => ({
        name: '?',
        tableOid: 0,
        columnAttributeNumber: 0,
        dataTypeOid: 0,
        dataTypeSize: -1,
        typeModifier: -1,
        format: 1,
      })
    )
    this.#fields = fields
    return planRows(
      fields,
      fields.map(() => [UNKNOWN_LINEAGE_REASON]),
      this.#profile
    )
  }

  #startCopy(frame: MessageFrame): void {
    const message = decodeBackendMessage(frame)
    const lineage = this.#statements[this.#index]?.lineage ?? null
    if (message.type !== 'CopyOutResponse' || message.format !== 0) return
    const copy = lineage?.copyOut
    const count = message.columnFormats.length
    const traced = lineage ? tracedReasons(lineage, count) : undefined
    const scan = this.#profile.text.active
    const columns = Array.from({ length: count }, (_, index): CopyColumn => {
      const reasons = traced === null ? [UNKNOWN_LINEAGE_REASON] : (traced?.[index] ?? [])
      if (reasons.length) return { kind: 'mask', reasons, mask: this.#profile.maskFor(reasons) }
      return scan ? { kind: 'scan' } : { kind: 'pass' }
    })
    this.#fields = columns.map((_, index) => ({ name: `column ${index + 1}` }) as FieldDescription)
    // Without a traced statement the rows are read in COPY's default text layout.
    const options = copy ?? (copyOutOptions(undefined) as CopyOut)
    this.#copy = { columns, options, header: options.header }
  }

  #copyRow(frame: MessageFrame): Uint8Array {
    const copy = this.#copy
    if (!copy) return frame.bytes
    if (copy.header) {
      copy.header = false
      return frame.bytes
    }
    const row = frame.body
    const masked = maskCopyRow(row, copy.options, copy.columns, this.#profile, this.tally)
    if (masked === row) return frame.bytes
    copy.columns.forEach((column, index) => {
      if (column.kind === 'mask') this.#changed.add(index)
    })
    return encodeBackendMessage({ type: 'CopyData', data: masked })
  }

  /** Tells the client which columns of the result set just ended were masked. */
  #notice(): Uint8Array | undefined {
    if (this.#changed.size === 0) return undefined
    const columns = [...this.#changed]
      .sort((a, b) => a - b)
      .map((index) => this.#fields[index]?.name ?? `column ${index + 1}`)
    for (const column of columns) this.maskedColumns.add(column)
    const reasons = [...this.tally].flatMap(([reason, count]) =>
      count > (this.#tallyBefore.get(reason) ?? 0) ? [reason] : []
    )
    this.#changed.clear()
    return noticeResponse(
      `Gatehouse masked ${columns.length === 1 ? 'column' : 'columns'} ${columns.join(', ')}.`,
      `gatehouse: masked by ${reasons.join(', ')}`
    )
  }

  #next(): void {
    this.#tallyBefore = new Map(this.tally)
    this.#index++
    this.#rows = undefined
    this.#copy = undefined
  }
}

/**
 * Per-column reasons from the statement's lineage: undefined when the statement reads
 * nothing sensitive, null when it does but its columns cannot be matched to the result.
 */
function tracedReasons(
  lineage: StatementLineage,
  count: number
): MaskReason[][] | null | undefined {
  const result = lineage.result
  if (result?.kind === 'columns') {
    const aligned = alignLineage(result, count)
    if (aligned) return aligned
  }
  return lineage.touchesSensitive ? null : undefined
}
