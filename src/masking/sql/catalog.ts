/**
 * The vocabulary of SQL column lineage: what the origin's catalog says about the relations
 * masking cares about, and what the analysis reports for one statement. Also the per-catalog
 * index the analysis looks names up in, built once per catalog object.
 */
import type { MaskReason } from '../types.ts'
import { CLEAN, type Shape, type Slot, type Taint } from './shape.ts'

/** What the origin's catalog says about relations that matter for masking. */
export type CatalogRelation = {
  /** As stored in pg_namespace, e.g. 'public'. */
  schema: string
  /** As stored in pg_class, e.g. 'customers'. */
  name: string
  /** Every column in attnum order (dropped ones excluded). */
  columns: readonly string[]
  /** Sensitive column name → reasons, e.g. 'email' → ['column:public.customers.email']. */
  sensitive: ReadonlyMap<string, readonly MaskReason[]>
}

/** The relations lineage is computed against. */
export type LineageCatalog = { relations: readonly CatalogRelation[] }

/** One result column: the reasons it is sensitive (empty: clean). */
export type LineageItem =
  | { kind: 'column'; reasons: MaskReason[] }
  /** A `*` (or `t.*`) over a relation the catalog does not know: clean columns, count unknown. */
  | { kind: 'spread'; reasons: [] }

/** What the rows of a statement carry. */
export type ResultLineage =
  | { kind: 'columns'; items: LineageItem[] }
  /** FETCH name: the tunnel looks up the DECLARE. */
  | { kind: 'cursor'; name: string }
  /** EXECUTE name: the tunnel looks up the PREPARE. */
  | { kind: 'prepared'; name: string }
  /** The origin of the columns cannot be traced: mask them all. */
  | { kind: 'unknown'; reason: string }

/** How `COPY … TO STDOUT` formats its rows (Postgres: COPY, "Parameters"). */
export type CopyOut = {
  format: 'text' | 'csv' | 'binary'
  delimiter: string
  quote: string
  escape: string
  nullString: string
  header: boolean
}

/** What one statement does with sensitive data. */
export type StatementLineage = {
  /** References a catalog relation that has sensitive columns (directly, via view, CTE, subquery…). */
  touchesSensitive: boolean
  /** What its rows carry; null when the statement returns no rows (INSERT without RETURNING, SET, …). */
  result: ResultLineage | null
  /** COPY … TO STDOUT: its options (result then describes the copied columns). */
  copyOut?: CopyOut
  /**
   * DECLARE c CURSOR FOR q / PREPARE p AS q: remember q's lineage under that name. `binary`:
   * a BINARY cursor, whose FETCHes return values in binary format.
   */
  declares?: { kind: 'cursor' | 'prepared'; name: string; result: ResultLineage; binary?: true }
  /** Why it would copy sensitive data somewhere it is no longer masked, if it would. */
  laundering?: string
}

/** Name lookups over one catalog. */
export type CatalogIndex = {
  /** Relations an unqualified (`schema` null) or qualified name can mean. */
  named(schema: string | null, name: string): readonly CatalogRelation[]
  /** The columns of what a name resolved to; several candidates are merged conservatively. */
  shapeOf(relations: readonly CatalogRelation[]): Shape
}

/** A relation the catalog does not know: any number of columns, none sensitive. */
export const UNKNOWN_RELATION: Shape = { slots: [{ kind: 'spread', taint: CLEAN }], exact: true }

const indexes = new WeakMap<LineageCatalog, CatalogIndex>()

/** The index of a catalog, built on first use and kept as long as the catalog object lives. */
export function catalogIndex(catalog: LineageCatalog): CatalogIndex {
  let index = indexes.get(catalog)
  if (!index) {
    index = buildIndex(catalog)
    indexes.set(catalog, index)
  }
  return index
}

function buildIndex(catalog: LineageCatalog): CatalogIndex {
  const byName = new Map<string, CatalogRelation[]>()
  for (const relation of catalog.relations) {
    const list = byName.get(relation.name)
    if (list) list.push(relation)
    else byName.set(relation.name, [relation])
  }
  const shapes = new Map<CatalogRelation, Shape>()
  const single = (relation: CatalogRelation): Shape => {
    let shape = shapes.get(relation)
    if (!shape) {
      shape = { slots: relation.columns.map((name) => relationColumn(relation, name)), exact: true }
      shapes.set(relation, shape)
    }
    return shape
  }
  return {
    named(schema, name) {
      const list = byName.get(name) ?? []
      return schema === null ? list : list.filter((relation) => relation.schema === schema)
    },
    shapeOf(relations) {
      const [first, ...rest] = relations
      if (!first) return UNKNOWN_RELATION
      if (rest.length === 0) return single(first)
      return mergedShape(relations.map(single))
    },
  }
}

function relationColumn(relation: CatalogRelation, name: string): Slot {
  const reasons = relation.sensitive.get(name)
  return { kind: 'column', name, taint: reasons ? new Set(reasons) : CLEAN }
}

/**
 * An unqualified name found in several schemas: which one the search path picks is not
 * known here, so each column carries what it carries in any of them. Positions are only
 * known when all agree on the column list.
 */
function mergedShape(shapes: Shape[]): Shape {
  const [first] = shapes
  const sameColumns = shapes.every(
    (shape) =>
      shape.slots.length === first?.slots.length &&
      shape.slots.every((slot, i) => columnName(slot) === columnName(first.slots[i]))
  )
  const merged = new Map<string, Set<MaskReason>>()
  const order: string[] = []
  for (const shape of shapes)
    for (const slot of shape.slots) {
      const name = columnName(slot)
      if (name === null) continue
      let taint = merged.get(name)
      if (!taint) {
        taint = new Set()
        merged.set(name, taint)
        order.push(name)
      }
      for (const reason of slot.taint) taint.add(reason)
    }
  const slots: Slot[] = order.map((name) => ({
    kind: 'column',
    name,
    taint: merged.get(name) ?? CLEAN,
  }))
  return { slots, exact: sameColumns }
}

function columnName(slot: Slot | undefined): string | null {
  return slot?.kind === 'column' ? slot.name : null
}

/** The reasons as reported: each once, sorted, so results compare exactly. */
export function reasonsOf(taint: Taint): MaskReason[] {
  return [...taint].sort()
}
