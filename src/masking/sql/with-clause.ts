/**
 * WITH entries, scoped as Postgres scopes them: a plain WITH entry sees the ones before it,
 * a WITH RECURSIVE entry sees all of them, itself included. Every entry is analysed even if
 * unreferenced, because a data-modifying one runs regardless (and may launder).
 */
import type { CommonTableExpr, Node, SelectStmt, WithClause } from 'libpg-query'
import { stringList } from '../../policy/sql/ast.ts'
import type { Analysis, CteBinding, Scope } from './scope.ts'
import {
  CLEAN,
  column,
  lookupColumn,
  renamed,
  type Shape,
  sameTaints,
  Untraceable,
  union,
  unionPositional,
  wholeTaint,
} from './shape.ts'

/** Rounds of a recursive WITH entry before giving up; each round only ever adds reasons. */
const MAX_RECURSION_ROUNDS = 8

/** Binds the WITH entries of `level` (the query level that owns the clause). */
export function bindCtes(clause: WithClause | undefined, level: Scope, analysis: Analysis): void {
  if (!clause) return
  const bindings = new Map<string, CteBinding>()
  level.ctes = bindings
  // An entry's query sees the levels around, not this level's FROM items.
  const around: Scope = { entries: [], tops: [], ctes: bindings, parent: level.parent }
  const definitions = (clause.ctes ?? []).flatMap((node) =>
    'CommonTableExpr' in node ? [node.CommonTableExpr] : []
  )
  if (!clause.recursive) {
    // Analysed in order, so each sees exactly the entries bound before it.
    for (const definition of definitions) {
      const shape = withSearchAndCycle(cteShape(definition, around, analysis), definition)
      bindings.set(definition.ctename ?? '', { resolve: () => shape })
    }
    return
  }
  const pending = definitions.map((definition) => recursiveBinding(definition, around, analysis))
  definitions.forEach((definition, i) => {
    const binding = pending[i]
    if (binding) bindings.set(definition.ctename ?? '', binding)
  })
  for (const binding of pending) binding.resolve()
}

function cteShape(definition: CommonTableExpr, around: Scope, analysis: Analysis): Shape {
  return renamed(analysis.query(definition.ctequery, around), stringList(definition.aliascolnames))
}

/**
 * SEARCH and CYCLE append columns to what the entry yields (rewriteSearchCycle.c): the
 * sequence column and the cycle path hold the values of the columns they list; the mark is
 * a flag.
 */
function withSearchAndCycle(shape: Shape, definition: CommonTableExpr): Shape {
  const slots = [...shape.slots]
  const listed = (names: Node[] | undefined) => {
    let taint = CLEAN
    for (const name of stringList(names))
      taint = union(taint, lookupColumn(shape, name)?.taint ?? wholeTaint(shape))
    return taint
  }
  const search = definition.search_clause
  if (search) slots.push(column(search.search_seq_column ?? null, listed(search.search_col_list)))
  const cycle = definition.cycle_clause
  if (cycle) {
    slots.push(column(cycle.cycle_mark_column ?? null, CLEAN))
    slots.push(column(cycle.cycle_path_column ?? null, listed(cycle.cycle_col_list)))
  }
  return slots.length === shape.slots.length ? shape : { slots, exact: shape.exact }
}

/**
 * A WITH RECURSIVE entry, analysed on first reference. A self-reference during its own
 * analysis sees the approximation so far: the non-recursive branch first, then each round's
 * result, until another round adds nothing.
 */
function recursiveBinding(
  definition: CommonTableExpr,
  around: Scope,
  analysis: Analysis
): CteBinding {
  let state: 'pending' | 'running' | 'done' = 'pending'
  let approximation: Shape | undefined
  let shape: Shape | undefined
  const names = stringList(definition.aliascolnames)
  const run = (): Shape => {
    const body = definition.ctequery
    const select = body && 'SelectStmt' in body ? body.SelectStmt : undefined
    if (select?.op !== 'SETOP_UNION' || !select.larg || select.withClause)
      return cteShape(definition, around, analysis)
    approximation = renamed(analysis.query(wrap(select.larg), around), names)
    for (let round = 0; round < MAX_RECURSION_ROUNDS; round++) {
      const next = cteShape(definition, around, analysis)
      const merged: Shape = {
        slots: unionPositional(approximation.slots, next.slots),
        exact: approximation.exact && next.exact,
      }
      if (sameTaints(approximation, merged)) return merged
      approximation = merged
    }
    throw new Untraceable(`recursive query "${definition.ctename}" does not settle`)
  }
  return {
    resolve() {
      if (state === 'done' && shape) return shape
      if (state === 'running') {
        if (approximation) return approximation
        throw new Untraceable(`"${definition.ctename}" refers to itself outside a UNION`)
      }
      state = 'running'
      shape = withSearchAndCycle(run(), definition)
      state = 'done'
      return shape
    },
  }
}

function wrap(select: SelectStmt): { SelectStmt: SelectStmt } {
  return { SelectStmt: select }
}
