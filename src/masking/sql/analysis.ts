/**
 * One statement's analysis: the dispatch from a query node to the code that knows its kind,
 * and the step from the internal column model to the `ResultLineage` reported, where what
 * cannot be traced fails closed.
 */
import type { DeleteStmt, InsertStmt, MergeStmt, SelectStmt, UpdateStmt } from 'libpg-query'
import { unwrap } from '../../policy/sql/ast.ts'
import { type CatalogIndex, type LineageItem, type ResultLineage, reasonsOf } from './catalog.ts'
import { deleteShape, insertShape, mergeShape, updateShape } from './modify-lineage.ts'
import type { Analysis, Scope } from './scope.ts'
import { selectShape } from './select-lineage.ts'
import { type Shape, starSlots, Untraceable } from './shape.ts'

/** A fresh analysis over a catalog. */
export function newAnalysis(catalog: CatalogIndex): Analysis {
  const analysis: Analysis = {
    catalog,
    laundering: undefined,
    launder(why) {
      analysis.laundering ??= why
    },
    query: (node, parent) => queryShape(node, parent, analysis),
  }
  return analysis
}

function queryShape(value: unknown, parent: Scope | null, analysis: Analysis): Shape {
  const node = unwrap(value)
  switch (node?.type) {
    case 'SelectStmt':
      return selectShape(node.fields as SelectStmt, parent, analysis)
    case 'InsertStmt':
      return insertShape(node.fields as InsertStmt, parent, analysis)
    case 'UpdateStmt':
      return updateShape(node.fields as UpdateStmt, parent, analysis)
    case 'DeleteStmt':
      return deleteShape(node.fields as DeleteStmt, parent, analysis)
    case 'MergeStmt':
      return mergeShape(node.fields as MergeStmt, parent, analysis)
    default:
      throw new Untraceable(`${node?.type ?? 'unrecognised node'} where a query was expected`)
  }
}

/** Why analysis stopped, as reported. */
export function untraceableReason(error: unknown): string {
  if (error instanceof Untraceable) return error.message
  // A tree deep enough to exhaust the stack, or a shape this code did not expect.
  return `lineage analysis failed: ${error instanceof Error ? error.message : String(error)}`
}

/**
 * The lineage of what `run` yields. When it cannot be traced: unknown if the statement
 * touches sensitive data, else clean columns of unknown number (nothing sensitive can be
 * in them). `onFailure` hears why, e.g. to treat an untraceable write as laundering.
 */
export function traceResult(
  run: () => Shape,
  touchesSensitive: boolean,
  onFailure?: (reason: string) => void
): ResultLineage {
  let shape: Shape
  try {
    shape = run()
  } catch (error) {
    const reason = untraceableReason(error)
    onFailure?.(reason)
    return untraced(reason, touchesSensitive)
  }
  try {
    return { kind: 'columns', items: starSlots(shape).map(lineageItem) }
  } catch (error) {
    return untraced(untraceableReason(error), touchesSensitive)
  }
}

function untraced(reason: string, touchesSensitive: boolean): ResultLineage {
  return touchesSensitive
    ? { kind: 'unknown', reason }
    : { kind: 'columns', items: [cleanSpread()] }
}

function lineageItem(slot: Shape['slots'][number]): LineageItem {
  if (slot.kind === 'column') return { kind: 'column', reasons: reasonsOf(slot.taint) }
  if (slot.taint.size > 0)
    throw new Untraceable('an unknown number of columns is derived from sensitive data')
  return cleanSpread()
}

function cleanSpread(): LineageItem {
  return { kind: 'spread', reasons: [] }
}

/** Result columns that carry nothing (EXPLAIN, SHOW). */
export function cleanColumns(count: number): ResultLineage {
  return {
    kind: 'columns',
    items: Array.from({ length: count }, (): LineageItem => ({ kind: 'column', reasons: [] })),
  }
}
