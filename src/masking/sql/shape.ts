/**
 * The value model of lineage: the sensitive-column reasons each column carries ("taint"),
 * and the positional algebra on column lists that `*`, set operations, alias lists and
 * INSERT need. Taints and shapes are never mutated once built, so they can be shared.
 */
import type { MaskReason } from '../types.ts'

/** The reasons a value is sensitive; empty: clean. */
export type Taint = ReadonlySet<MaskReason>

/** No reasons: the value derives from no sensitive column. */
export const CLEAN: Taint = new Set()

/**
 * One position of a column list. A spread stands for any number (≥ 0) of columns whose names
 * are unknown, each carrying its taint; a column's name is null when it cannot be told for
 * sure (a lookup that misses the named ones then takes it into account).
 */
export type Slot =
  | { kind: 'column'; name: string | null; taint: Taint }
  | { kind: 'spread'; taint: Taint }

/** The columns of a relation, subquery, join or result. */
export type Shape = {
  slots: readonly Slot[]
  /** False when names are right but positions are not (a NATURAL join of partly known sides). */
  exact: boolean
}

/** Something lineage cannot follow; the statement's result becomes `unknown`. */
export class Untraceable extends Error {}

/** Both taints; shares an operand when the other adds nothing. */
export function union(a: Taint, b: Taint): Taint {
  if (b.size === 0 || a === b) return a
  if (a.size === 0) return b
  const merged = new Set(a)
  for (const reason of b) merged.add(reason)
  return merged
}

/** A column slot. */
export function column(name: string | null, taint: Taint): Slot {
  return { kind: 'column', name, taint }
}

/** Everything a shape carries: a whole-row reference (`SELECT u FROM customers u`). */
export function wholeTaint(shape: Shape): Taint {
  let taint = CLEAN
  for (const slot of shape.slots) taint = union(taint, slot.taint)
  return taint
}

/**
 * A column by name. `definite`: a column of that name is known to be there; otherwise the
 * name may be among the spreads and unnamed columns, and the taint is theirs. Null: the
 * shape cannot have such a column.
 */
export function lookupColumn(
  shape: Shape,
  name: string
): { taint: Taint; definite: boolean } | null {
  let named: Taint | null = null
  let maybe: Taint | null = null
  for (const slot of shape.slots) {
    if (slot.kind === 'column' && slot.name === name) named = union(named ?? CLEAN, slot.taint)
    else if (slot.kind === 'spread' || slot.name === null) maybe = union(maybe ?? CLEAN, slot.taint)
  }
  if (named) return { taint: named, definite: true }
  return maybe ? { taint: maybe, definite: false } : null
}

/**
 * Applies an alias column list (`AS s(a, b)`) positionally. Past a spread the positions are
 * lost: later columns become unnamed, so a lookup of any name takes them into account.
 */
export function renamed(shape: Shape, names: readonly string[]): Shape {
  if (names.length === 0) return shape
  let next = 0
  let lost = false
  const slots = shape.slots.map((slot): Slot => {
    if (slot.kind === 'spread') {
      if (next < names.length) lost = true
      return slot
    }
    if (lost) return column(null, slot.taint)
    const name = names[next] ?? slot.name
    next++
    return column(name, slot.taint)
  })
  return { slots, exact: shape.exact }
}

/** The columns `*` yields: exact positions, or one clean spread where only clean data is lost. */
export function starSlots(shape: Shape): readonly Slot[] {
  if (shape.exact) return shape.slots
  if (wholeTaint(shape).size === 0) return [{ kind: 'spread', taint: CLEAN }]
  throw new Untraceable('the columns of a NATURAL join or ambiguous relation cannot be placed')
}

/**
 * The slots laid out over exactly `count` columns, or null if they cannot be. One spread
 * takes up the remainder; with several, the columns between the first and the last each
 * carry everything found there (their positions are not known).
 */
export function fitSlots(slots: readonly Slot[], count: number): Slot[] | null {
  const first = slots.findIndex((slot) => slot.kind === 'spread')
  if (first < 0) return slots.length === count ? [...slots] : null
  let last = first
  let spreads = 0
  slots.forEach((slot, i) => {
    if (slot.kind === 'spread') {
      last = i
      spreads++
    }
  })
  const trailing = slots.length - 1 - last
  if (count < slots.length - spreads) return null
  let middle = CLEAN
  for (let i = first; i <= last; i++) middle = union(middle, slots[i]?.taint ?? CLEAN)
  const filler = column(null, middle)
  return [
    ...slots.slice(0, first),
    ...Array.from({ length: count - first - trailing }, () => filler),
    ...slots.slice(slots.length - trailing),
  ]
}

/**
 * Two column lists combined position by position (UNION, INTERSECT, EXCEPT, the rows of
 * VALUES, the rounds of a recursive CTE); names come from the first, as in Postgres.
 */
export function unionPositional(a: readonly Slot[], b: readonly Slot[]): Slot[] {
  const aSpreads = a.some((slot) => slot.kind === 'spread')
  const bSpreads = b.some((slot) => slot.kind === 'spread')
  if (!aSpreads || !bSpreads) {
    const left = aSpreads ? fitSlots(a, b.length) : [...a]
    const right = bSpreads ? fitSlots(b, a.length) : [...b]
    if (!left || !right || left.length !== right.length)
      throw new Untraceable('set operation branches do not line up')
    return zip(left, right)
  }
  // Both open-ended: the columns before every spread and after every spread still line up.
  const lead = Math.min(leadingColumns(a), leadingColumns(b))
  const trail = Math.min(leadingColumns([...a].reverse()), leadingColumns([...b].reverse()))
  let middle = CLEAN
  for (const slot of [...a.slice(lead, a.length - trail), ...b.slice(lead, b.length - trail)])
    middle = union(middle, slot.taint)
  return [
    ...zip(a.slice(0, lead), b.slice(0, lead)),
    { kind: 'spread', taint: middle },
    ...zip(a.slice(a.length - trail), b.slice(b.length - trail)),
  ]
}

function leadingColumns(slots: readonly Slot[]): number {
  const index = slots.findIndex((slot) => slot.kind === 'spread')
  return index < 0 ? slots.length : index
}

function zip(a: readonly Slot[], b: readonly Slot[]): Slot[] {
  return a.map((slot, i) =>
    column(slot.kind === 'column' ? slot.name : null, union(slot.taint, b[i]?.taint ?? CLEAN))
  )
}

/**
 * Whether two shapes carry the same reasons at the same positions, for a `b` grown from `a`
 * by union (so comparing sizes suffices): a fixpoint is reached.
 */
export function sameTaints(a: Shape, b: Shape): boolean {
  return (
    a.slots.length === b.slots.length &&
    a.slots.every((slot, i) => {
      const other = b.slots[i]
      return other?.kind === slot.kind && other.taint.size === slot.taint.size
    })
  )
}
