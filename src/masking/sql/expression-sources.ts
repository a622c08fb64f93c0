/**
 * Where an expression's value comes from: every column it references anywhere below it
 * (function arguments, operators, casts, CASE, aggregates and their ORDER BY and FILTER,
 * window clauses, subqueries with the outer scope visible). Deliberately generic: a new or
 * unusual node type is walked like any other, so wrapping a column in something this file
 * has never heard of still carries its taint. Also the names Postgres gives result columns.
 */
import type { Node, ResTarget } from 'libpg-query'
import { type NodeFields, stringList, unwrap } from '../../policy/sql/ast.ts'
import type { MaskReason } from '../types.ts'
import { type Analysis, columnRefTaint, findEntries, type Scope } from './scope.ts'
import {
  CLEAN,
  column,
  type Slot,
  starSlots,
  type Taint,
  Untraceable,
  wholeTaint,
} from './shape.ts'

const QUERY_TYPES = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'])
const FROM_TYPES = new Set(['RangeVar', 'RangeSubselect', 'RangeFunction', 'JoinExpr'])

/** The union of the taints of everything `node` references. */
export function expressionTaint(node: unknown, scope: Scope, analysis: Analysis): Taint {
  const found = new Set<MaskReason>()
  collect(node, scope, analysis, found)
  return found.size === 0 ? CLEAN : found
}

function collect(value: unknown, scope: Scope, analysis: Analysis, found: Set<MaskReason>): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, scope, analysis, found)
    return
  }
  if (typeof value !== 'object' || value === null) return
  const node = unwrap(value)
  const fields = node ? node.fields : (value as NodeFields)
  if (node?.type === 'ColumnRef') {
    addAll(found, columnRefTaint(fields.fields as Node[] | undefined, scope))
    return
  }
  if (node?.type === 'SubLink') {
    // EXISTS, IN, ANY, ARRAY(…), (SELECT …): what the sub-select yields flows into the value.
    collect(fields.testexpr, scope, analysis, found)
    addAll(found, wholeTaint(analysis.query(fields.subselect, scope)))
    return
  }
  if (node && QUERY_TYPES.has(node.type)) {
    addAll(found, wholeTaint(analysis.query(value, scope)))
    return
  }
  if (node && FROM_TYPES.has(node.type)) throw new Untraceable(`${node.type} inside an expression`)
  for (const key in fields) collect(fields[key], scope, analysis, found)
}

function addAll(into: Set<MaskReason>, taint: Taint): void {
  for (const reason of taint) into.add(reason)
}

/**
 * The column name Postgres gives an unnamed result expression (parse_target.c
 * FigureColnameInternal); `strong` as its strength 2. Null where this cannot be sure, e.g.
 * SQL-syntax functions whose names changed between server versions.
 */
export function figureName(value: unknown): { name: string; strong: boolean } | null {
  const node = unwrap(value)
  if (!node) return null
  const { type, fields } = node
  switch (type) {
    case 'ColumnRef': {
      const name = stringList(fields.fields as Node[] | undefined).at(-1)
      return name === undefined ? null : { name, strong: true }
    }
    case 'A_Indirection': {
      const name = stringList(fields.indirection as Node[] | undefined).at(-1)
      return name === undefined ? figureName(fields.arg) : { name, strong: true }
    }
    case 'FuncCall': {
      if (fields.funcformat === 'COERCE_SQL_SYNTAX') return null
      const name = stringList(fields.funcname as Node[] | undefined).at(-1)
      return name === undefined ? null : { name, strong: true }
    }
    case 'TypeCast': {
      const inner = figureName(fields.arg)
      if (inner?.strong) return inner
      const typeName = fields.typeName as { names?: Node[] } | undefined
      const name = stringList(typeName?.names).at(-1)
      return name === undefined ? null : { name, strong: false }
    }
    case 'CollateClause':
      return figureName(fields.arg)
    case 'CaseExpr': {
      const inner = figureName(fields.defresult)
      return inner?.strong ? inner : { name: 'case', strong: false }
    }
    case 'SubLink':
      return subLinkName(fields)
    case 'A_Expr':
      return { name: fields.kind === 'AEXPR_NULLIF' ? 'nullif' : '?column?', strong: false }
    case 'A_ArrayExpr':
      return { name: 'array', strong: true }
    case 'RowExpr':
      return { name: 'row', strong: true }
    case 'CoalesceExpr':
      return { name: 'coalesce', strong: true }
    case 'MinMaxExpr':
      return { name: fields.op === 'IS_LEAST' ? 'least' : 'greatest', strong: true }
    case 'GroupingFunc':
      return { name: 'grouping', strong: true }
    case 'A_Const':
    case 'BoolExpr':
    case 'NullTest':
    case 'BooleanTest':
    case 'ParamRef':
      return { name: '?column?', strong: false }
    default:
      return null
  }
}

function subLinkName(fields: NodeFields): { name: string; strong: boolean } | null {
  if (fields.subLinkType === 'EXISTS_SUBLINK') return { name: 'exists', strong: true }
  if (fields.subLinkType === 'ARRAY_SUBLINK') return { name: 'array', strong: true }
  if (fields.subLinkType !== 'EXPR_SUBLINK') return { name: '?column?', strong: false }
  const select = unwrap(fields.subselect)
  const first = (select?.fields.targetList as Node[] | undefined)?.[0]
  if (!first || !('ResTarget' in first)) return null
  const target = first.ResTarget
  if (target.name !== undefined) return { name: target.name, strong: true }
  const inner = figureName(target.val)
  return inner?.strong ? inner : null
}

/**
 * The result columns of a target list (SELECT's, or RETURNING's): `*` and `t.*` expand to
 * the FROM items' columns; every other entry is one column.
 */
export function targetSlots(
  targets: readonly Node[] | undefined,
  level: Scope,
  analysis: Analysis
): Slot[] {
  const slots: Slot[] = []
  for (const node of targets ?? []) {
    if (!('ResTarget' in node)) throw new Untraceable('unexpected target list entry')
    slots.push(...targetEntrySlots(node.ResTarget, level, analysis))
  }
  return slots
}

function targetEntrySlots(target: ResTarget, level: Scope, analysis: Analysis): readonly Slot[] {
  const value = target.val
  if (value && 'ColumnRef' in value) {
    const fields = value.ColumnRef.fields ?? []
    const last = fields.at(-1)
    if (last && 'A_Star' in last) {
      if (fields.length === 1) {
        if (level.tops.length === 0) throw new Untraceable('SELECT * without FROM')
        return level.tops.flatMap((top) => starSlots(top))
      }
      const parts = stringList(fields.slice(0, -1))
      const table = parts.at(-1) ?? ''
      const entries = findEntries(level, table, parts.length >= 2 ? (parts.at(-2) ?? null) : null)
      const [entry, ...others] = entries
      if (!entry) throw new Untraceable(`no FROM item named "${table}"`)
      if (others.length > 0) throw new Untraceable(`more than one FROM item named "${table}"`)
      return starSlots(entry.shape)
    }
  }
  if (value && 'A_Indirection' in value) {
    const last = value.A_Indirection.indirection?.at(-1)
    // `(expr).*`: a composite's fields, how many is not known here.
    if (last && 'A_Star' in last)
      return [{ kind: 'spread', taint: expressionTaint(value.A_Indirection.arg, level, analysis) }]
  }
  const name = target.name ?? figureName(value)?.name ?? null
  return [column(name, expressionTaint(value, level, analysis))]
}
