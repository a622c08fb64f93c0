/**
 * Lines a statement's lineage up with the columns the origin actually sent (RowDescription),
 * so each field of each row gets its reasons. Spreads, the columns of relations the catalog
 * does not know, take up whatever the known items leave.
 */
import type { MaskReason } from '../types.ts'
import type { ResultLineage } from './catalog.ts'

/**
 * The reasons of each of `fieldCount` columns, or null when the lineage cannot be matched to
 * them unambiguously (the caller then masks every column). One spread takes the remainder;
 * with several, positions are still certain if every sensitive item lies before the first
 * spread or after the last, since whatever lies between is clean.
 */
export function alignLineage(
  result: ResultLineage & { kind: 'columns' },
  fieldCount: number
): MaskReason[][] | null {
  const { items } = result
  const first = items.findIndex((item) => item.kind === 'spread')
  if (first < 0) return items.length === fieldCount ? items.map((item) => [...item.reasons]) : null
  let last = first
  let spreads = 0
  items.forEach((item, i) => {
    if (item.kind === 'spread') {
      last = i
      spreads++
    }
  })
  if (!Number.isInteger(fieldCount) || fieldCount < items.length - spreads) return null
  if (items.slice(first, last + 1).some((item) => item.reasons.length > 0)) return null
  const before = items.slice(0, first).map((item) => [...item.reasons])
  const after = items.slice(last + 1).map((item) => [...item.reasons])
  const between = Array.from({ length: fieldCount - before.length - after.length }, () => [])
  return [...before, ...between, ...after]
}
