/**
 * Views in the masking catalog: a view column derived from a sensitive column is itself
 * sensitive, with the same reasons, so `SELECT email FROM customer_emails` is masked like
 * `SELECT email FROM customers`. Views over views settle after as many rounds as they nest.
 */
import { unwrap } from '../../policy/sql/ast.ts'
import type { MaskReason } from '../types.ts'
import { newAnalysis } from './analysis.ts'
import { type CatalogRelation, catalogIndex, type LineageCatalog, reasonsOf } from './catalog.ts'
import { CLEAN, fitSlots, type Taint, Untraceable, union } from './shape.ts'
import { sensitiveRelationsIn } from './touches.ts'

/** A view as read from the origin: its columns and its parsed definition. */
export type ViewDefinition = {
  schema: string
  name: string
  columns: readonly string[]
  /** The parsed `pg_get_viewdef` text: a SelectStmt node, wrapped or bare. */
  definition: unknown
}

/**
 * Catalog relations for `views` (every one, sensitive columns marked), given the base
 * relations. A view whose definition cannot be traced has every column marked with the
 * reasons of all sensitive relations it reads.
 */
export function sensitiveViews(
  base: LineageCatalog,
  views: readonly ViewDefinition[]
): CatalogRelation[] {
  let current: CatalogRelation[] = views.map((view) => ({
    schema: view.schema,
    name: view.name,
    columns: view.columns,
    sensitive: new Map(),
  }))
  // Each round sees the previous round's views; reasons only grow, so this settles.
  for (let round = 0; round <= views.length; round++) {
    const catalog: LineageCatalog = { relations: [...base.relations, ...current] }
    let changed = false
    current = views.map((view, i) => {
      const sensitive = viewSensitivity(view, catalog)
      const before = current[i]?.sensitive
      if (!before || !sameSensitivity(before, sensitive)) changed = true
      return { schema: view.schema, name: view.name, columns: view.columns, sensitive }
    })
    if (!changed) break
  }
  return current
}

function viewSensitivity(view: ViewDefinition, catalog: LineageCatalog): Map<string, MaskReason[]> {
  const index = catalogIndex(catalog)
  const definition = unwrap(view.definition) ? view.definition : { SelectStmt: view.definition }
  const taints: Taint[] = []
  try {
    const shape = newAnalysis(index).query(definition, null)
    const fitted = fitSlots(shape.slots, view.columns.length)
    if (!fitted) throw new Untraceable('the definition does not match the view columns')
    for (const slot of fitted) taints.push(slot.taint)
  } catch {
    let all = CLEAN
    for (const relation of sensitiveRelationsIn(definition, index))
      for (const reasons of relation.sensitive.values()) all = union(all, new Set(reasons))
    for (const _ of view.columns) taints.push(all)
  }
  const sensitive = new Map<string, MaskReason[]>()
  view.columns.forEach((name, i) => {
    const taint = taints[i] ?? CLEAN
    if (taint.size > 0) sensitive.set(name, reasonsOf(union(taint, new Set(sensitive.get(name)))))
  })
  return sensitive
}

function sameSensitivity(
  a: ReadonlyMap<string, readonly MaskReason[]>,
  b: ReadonlyMap<string, readonly MaskReason[]>
): boolean {
  if (a.size !== b.size) return false
  for (const [name, reasons] of a) if (b.get(name)?.length !== reasons.length) return false
  return true
}
