/**
 * INSERT, UPDATE, DELETE and MERGE: what their RETURNING yields, and whether they write data
 * derived from sensitive columns into a column that is not itself sensitive, where it would
 * no longer be masked (laundering). Writing into a sensitive column keeps it masked.
 */
import type {
  DeleteStmt,
  InsertStmt,
  MergeStmt,
  MergeWhenClause,
  MultiAssignRef,
  Node,
  RangeVar,
  UpdateStmt,
} from 'libpg-query'
import { qualifiedName } from '../../policy/sql/ast.ts'
import { type CatalogRelation, reasonsOf } from './catalog.ts'
import { expressionTaint, targetSlots } from './expression-sources.ts'
import { addFromClause, fromItem, relationEntry } from './from-clause.ts'
import { type Analysis, newScope, type RangeEntry, type Scope, withoutEntries } from './scope.ts'
import { column, fitSlots, type Shape, type Slot, type Taint, wholeTaint } from './shape.ts'
import { bindCtes } from './with-clause.ts'

/** Where a statement writes: the catalog's idea of the table, and its name as written. */
type WriteTarget = { entry: RangeEntry; relations: readonly CatalogRelation[]; label: string }

/** INSERT: checks what it writes; yields what RETURNING returns (the target's columns). */
export function insertShape(insert: InsertStmt, parent: Scope | null, analysis: Analysis): Shape {
  const level = newScope(parent)
  bindCtes(insert.withClause, level, analysis)
  const target = writeTarget(insert.relation, level, analysis)
  const columns = insert.cols
    ? insert.cols.map((node) => ('ResTarget' in node ? (node.ResTarget.name ?? '') : ''))
    : knownColumnNames(target.entry.shape)
  if (insert.selectStmt) {
    // The source cannot see the target table.
    const source = analysis.query(insert.selectStmt, withoutEntries(level))
    checkPositionalWrite(source.slots, columns, target, analysis)
  }
  level.entries.push(target.entry)
  level.tops.push(target.entry.shape)
  const conflict = insert.onConflictClause
  if (conflict?.targetList) {
    const excluded: RangeEntry = { ...target.entry, name: 'excluded', aliased: true }
    const scope: Scope = { ...level, entries: [...level.entries, excluded] }
    checkAssignments(conflict.targetList, scope, target, analysis)
  }
  return returning(insert.returningList, level, analysis)
}

/** UPDATE: checks each assignment; RETURNING sees the target and the FROM items. */
export function updateShape(update: UpdateStmt, parent: Scope | null, analysis: Analysis): Shape {
  const level = newScope(parent)
  bindCtes(update.withClause, level, analysis)
  const target = writeTarget(update.relation, level, analysis)
  level.entries.push(target.entry)
  level.tops.push(target.entry.shape)
  addFromClause(update.fromClause, level, analysis)
  checkAssignments(update.targetList, level, target, analysis)
  return returning(update.returningList, level, analysis)
}

/** DELETE writes nothing; RETURNING sees the target and the USING items. */
export function deleteShape(remove: DeleteStmt, parent: Scope | null, analysis: Analysis): Shape {
  const level = newScope(parent)
  bindCtes(remove.withClause, level, analysis)
  const target = writeTarget(remove.relation, level, analysis)
  level.entries.push(target.entry)
  level.tops.push(target.entry.shape)
  addFromClause(remove.usingClause, level, analysis)
  return returning(remove.returningList, level, analysis)
}

/** MERGE (Postgres 15 has no RETURNING for it): only what its actions write matters. */
export function mergeShape(merge: MergeStmt, parent: Scope | null, analysis: Analysis): Shape {
  const level = newScope(parent)
  bindCtes(merge.withClause, level, analysis)
  const target = writeTarget(merge.relation, level, analysis)
  level.entries.push(target.entry)
  fromItem(merge.sourceRelation, level, analysis)
  for (const node of merge.mergeWhenClauses ?? []) {
    if ('MergeWhenClause' in node) mergeAction(node.MergeWhenClause, level, target, analysis)
  }
  return { slots: [], exact: true }
}

function mergeAction(
  action: MergeWhenClause,
  level: Scope,
  target: WriteTarget,
  analysis: Analysis
): void {
  if (action.commandType === 'CMD_UPDATE')
    checkAssignments(action.targetList, level, target, analysis)
  if (action.commandType !== 'CMD_INSERT' || !action.values) return
  const columns = action.targetList
    ? action.targetList.map((node) => ('ResTarget' in node ? (node.ResTarget.name ?? '') : ''))
    : knownColumnNames(target.entry.shape)
  const slots = action.values.map((value) => column(null, expressionTaint(value, level, analysis)))
  checkPositionalWrite(slots, columns, target, analysis)
}

function writeTarget(
  relation: RangeVar | undefined,
  level: Scope,
  analysis: Analysis
): WriteTarget {
  const written = relation ?? {}
  // The target of a write is always a table, never a WITH entry.
  const { entry, relations } = relationEntry(written, level, analysis, false)
  const parts = [written.schemaname, written.relname].filter((p): p is string => p !== undefined)
  return { entry, relations, label: qualifiedName(parts) }
}

function returning(list: Node[] | undefined, level: Scope, analysis: Analysis): Shape {
  return { slots: list ? targetSlots(list, level, analysis) : [], exact: true }
}

/** The target's columns in order, when all are known (INSERT without a column list). */
function knownColumnNames(shape: Shape): string[] | null {
  const names: string[] = []
  for (const slot of shape.slots) {
    if (slot.kind === 'spread' || slot.name === null) return null
    names.push(slot.name)
  }
  return names
}

/** `SET col = expr` and `SET (a, b) = (SELECT …)`, each checked against its column. */
function checkAssignments(
  targets: Node[] | undefined,
  scope: Scope,
  target: WriteTarget,
  analysis: Analysis
): void {
  // The parser repeats a multiple assignment's source under each of its columns; the first
  // (colno 1) is analysed and the rest of the group reuse it, keeping this linear.
  let group: Shape | null = null
  for (const node of targets ?? []) {
    if (!('ResTarget' in node)) continue
    const { name, val } = node.ResTarget
    let taint: Taint
    if (val && 'MultiAssignRef' in val) {
      const assign = val.MultiAssignRef
      if (assign.colno === 1 || !group) group = multiAssignSource(assign, scope, analysis)
      const fitted = fitSlots(group.slots, assign.ncolumns ?? 0)
      taint = fitted?.[(assign.colno ?? 1) - 1]?.taint ?? wholeTaint(group)
    } else taint = expressionTaint(val, scope, analysis)
    checkWrite(name ?? null, taint, target, analysis)
  }
}

/** The columns of `(a, b) = (SELECT x, y …)` or `(a, b) = (x, y)`. */
function multiAssignSource(assign: MultiAssignRef, scope: Scope, analysis: Analysis): Shape {
  const source = assign.source
  if (source && 'SubLink' in source) return analysis.query(source.SubLink.subselect, scope)
  if (source && 'RowExpr' in source)
    return {
      slots: (source.RowExpr.args ?? []).map((arg) =>
        column(null, expressionTaint(arg, scope, analysis))
      ),
      exact: true,
    }
  return { slots: [column(null, expressionTaint(source, scope, analysis))], exact: true }
}

function checkPositionalWrite(
  slots: readonly Slot[],
  columns: readonly string[] | null,
  target: WriteTarget,
  analysis: Analysis
): void {
  if (!slots.some((slot) => slot.taint.size > 0)) return
  const fitted = columns ? fitSlots(slots, columns.length) : null
  if (!columns || !fitted) {
    checkWrite(null, wholeTaint({ slots, exact: true }), target, analysis)
    return
  }
  fitted.forEach((slot, i) => {
    checkWrite(columns[i] ?? null, slot.taint, target, analysis)
  })
}

/** Launders unless the column (null: not known which) is sensitive in every candidate table. */
function checkWrite(
  name: string | null,
  taint: Taint,
  target: WriteTarget,
  analysis: Analysis
): void {
  if (taint.size === 0) return
  const keepsMasked =
    name !== null &&
    target.relations.length > 0 &&
    target.relations.every((relation) => relation.sensitive.has(name))
  if (keepsMasked) return
  const where = name === null ? `columns of ${target.label}` : `${target.label}.${name}`
  analysis.launder(`writes ${reasonsOf(taint).join(', ')} into ${where}, which is not masked`)
}
