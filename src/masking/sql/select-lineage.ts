/**
 * The columns a SELECT yields: a plain query level (WITH, FROM, target list), a set
 * operation (branches combined position by position), or VALUES (rows likewise). WHERE,
 * GROUP BY, HAVING, ORDER BY and join conditions filter and order rows but put no value in
 * them, so they are not followed.
 */
import type { Node, SelectStmt } from 'libpg-query'
import { reasonsOf } from './catalog.ts'
import { expressionTaint, targetSlots } from './expression-sources.ts'
import { addFromClause } from './from-clause.ts'
import { type Analysis, newScope, type Scope } from './scope.ts'
import { column, type Shape, type Slot, unionPositional, wholeTaint } from './shape.ts'
import { bindCtes } from './with-clause.ts'

/** The columns of a SELECT (the bare struct), with `parent` as the levels around it. */
export function selectShape(select: SelectStmt, parent: Scope | null, analysis: Analysis): Shape {
  const level = newScope(parent)
  bindCtes(select.withClause, level, analysis)
  let shape: Shape
  if (select.op && select.op !== 'SETOP_NONE') shape = setOperation(select, level, analysis)
  else if (select.valuesLists) shape = values(select.valuesLists, level, analysis)
  else {
    addFromClause(select.fromClause, level, analysis)
    shape = { slots: targetSlots(select.targetList, level, analysis), exact: true }
  }
  if (select.intoClause) {
    const taint = wholeTaint(shape)
    if (taint.size > 0)
      analysis.launder(`SELECT INTO copies ${reasonsOf(taint).join(', ')} into a new table`)
  }
  return shape
}

function setOperation(select: SelectStmt, level: Scope, analysis: Analysis): Shape {
  if (!select.larg || !select.rarg) return { slots: [], exact: true }
  const left = selectShape(select.larg, level, analysis)
  const right = selectShape(select.rarg, level, analysis)
  return { slots: unionPositional(left.slots, right.slots), exact: left.exact && right.exact }
}

function values(rows: readonly Node[], level: Scope, analysis: Analysis): Shape {
  let slots: Slot[] | null = null
  for (const row of rows) {
    const items = 'List' in row ? (row.List.items ?? []) : []
    const rowSlots = items.map((item, i) =>
      column(`column${i + 1}`, expressionTaint(item, level, analysis))
    )
    slots = slots ? unionPositional(slots, rowSlots) : rowSlots
  }
  return { slots: slots ?? [], exact: true }
}
