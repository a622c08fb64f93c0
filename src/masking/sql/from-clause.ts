/**
 * The FROM clause: each item becomes a named entry of the query level (for column
 * references) and a shape in order (for `*`). Relations come from the catalog or a WITH
 * entry, sub-selects and functions from their own analysis, joins from both sides.
 */
import type {
  Alias,
  JoinExpr,
  Node,
  RangeFunction,
  RangeSubselect,
  RangeTableFunc,
  RangeVar,
} from 'libpg-query'
import { stringList, unwrap } from '../../policy/sql/ast.ts'
import type { CatalogRelation } from './catalog.ts'
import { expressionTaint } from './expression-sources.ts'
import { type Analysis, findCte, type RangeEntry, type Scope, withoutEntries } from './scope.ts'
import {
  CLEAN,
  column,
  lookupColumn,
  renamed,
  type Shape,
  type Slot,
  type Taint,
  Untraceable,
  union,
} from './shape.ts'

/** Adds every FROM (or USING) item to the level. */
export function addFromClause(
  items: readonly Node[] | undefined,
  level: Scope,
  analysis: Analysis
) {
  for (const item of items ?? []) level.tops.push(fromItem(item, level, analysis))
}

/** Adds one FROM item's entries to the level; returns its columns. */
export function fromItem(value: unknown, level: Scope, analysis: Analysis): Shape {
  const node = unwrap(value)
  switch (node?.type) {
    case 'RangeVar': {
      const { entry } = relationEntry(node.fields as RangeVar, level, analysis, true)
      level.entries.push(entry)
      return entry.shape
    }
    case 'RangeSubselect':
      return subselect(node.fields as RangeSubselect, level, analysis)
    case 'RangeFunction':
      return functions(node.fields as RangeFunction, level, analysis)
    case 'JoinExpr':
      return join(node.fields as JoinExpr, level, analysis)
    case 'RangeTableSample':
      return fromItem(node.fields.relation, level, analysis)
    case 'RangeTableFunc':
      return tableFunction(node.fields as RangeTableFunc, level, analysis)
    default:
      throw new Untraceable(`${node?.type ?? 'unrecognised item'} in FROM`)
  }
}

/**
 * A relation name: a WITH entry if unqualified and one is in scope (and `withCtes`), else
 * whatever the catalog has under that name, else a relation of unknown, clean columns.
 */
export function relationEntry(
  relation: RangeVar,
  scope: Scope,
  analysis: Analysis,
  withCtes: boolean
): { entry: RangeEntry; relations: readonly CatalogRelation[] } {
  const name = relation.relname ?? ''
  const schema = relation.schemaname ?? null
  const alias = relation.alias
  const cte = withCtes && schema === null ? findCte(scope, name) : undefined
  const relations = cte ? [] : analysis.catalog.named(schema, name)
  const shape = cte ? cte.resolve() : analysis.catalog.shapeOf(relations)
  return {
    entry: {
      name: alias?.aliasname ?? name,
      schema: alias ? null : schema,
      aliased: alias !== undefined,
      shape: withAlias(shape, alias),
    },
    relations,
  }
}

function withAlias(shape: Shape, alias: Alias | undefined): Shape {
  return renamed(shape, stringList(alias?.colnames))
}

function subselect(item: RangeSubselect, level: Scope, analysis: Analysis): Shape {
  const visible = item.lateral ? level : withoutEntries(level)
  const shape = withAlias(analysis.query(item.subquery, visible), item.alias)
  level.entries.push({ name: item.alias?.aliasname ?? null, schema: null, aliased: true, shape })
  return shape
}

/**
 * Functions in FROM (always lateral): each yields what its arguments carry. With a column
 * definition list the columns are known; otherwise how many there are is not.
 */
function functions(item: RangeFunction, level: Scope, analysis: Analysis): Shape {
  const slots: Slot[] = []
  const calls = item.functions ?? []
  let firstName: string | null = null
  for (const call of calls) {
    const [expression, definitions] = 'List' in call ? (call.List.items ?? []) : [call]
    const taint = expressionTaint(expression, level, analysis)
    firstName ??= functionName(expression)
    const listed = unwrap(definitions)?.fields.items as Node[] | undefined
    const columns = listed ?? (calls.length === 1 ? item.coldeflist : undefined)
    if (columns)
      slots.push(...columns.map((definition) => column(columnDefName(definition), taint)))
    else slots.push({ kind: 'spread', taint })
  }
  if (item.ordinality) slots.push(column('ordinality', CLEAN))
  const shape = withAlias({ slots, exact: true }, item.alias)
  const name = item.alias?.aliasname ?? (calls.length === 1 ? firstName : null)
  level.entries.push({ name, schema: null, aliased: true, shape })
  return shape
}

function functionName(expression: Node | undefined): string | null {
  if (!expression || !('FuncCall' in expression)) return null
  return stringList(expression.FuncCall.funcname).at(-1) ?? null
}

function columnDefName(definition: Node): string | null {
  return 'ColumnDef' in definition ? (definition.ColumnDef.colname ?? null) : null
}

/** XMLTABLE: declared columns, each carrying everything the document and paths carry. */
function tableFunction(item: RangeTableFunc, level: Scope, analysis: Analysis): Shape {
  const taint = expressionTaint([item.docexpr, item.rowexpr, item.columns], level, analysis)
  const slots = (item.columns ?? []).map((definition) =>
    column(
      'RangeTableFuncCol' in definition ? (definition.RangeTableFuncCol.colname ?? null) : null,
      taint
    )
  )
  const shape = withAlias({ slots, exact: true }, item.alias)
  level.entries.push({ name: item.alias?.aliasname ?? null, schema: null, aliased: true, shape })
  return shape
}

function join(item: JoinExpr, level: Scope, analysis: Analysis): Shape {
  const left = fromItem(item.larg, level, analysis)
  // A LATERAL right side sees the left side's entries, which are on the level by now.
  const right = fromItem(item.rarg, level, analysis)
  let shape: Shape
  if (item.usingClause || item.isNatural) {
    const using = item.usingClause ? stringList(item.usingClause) : naturalColumns(left, right)
    shape = using ? mergedJoin(left, right, using) : concatenated(left, right, false)
    if (item.join_using_alias && using) {
      const slots = using.map((name) => column(name, joinedTaint(left, right, name)))
      level.entries.push({
        name: item.join_using_alias.aliasname ?? null,
        schema: null,
        aliased: true,
        shape: { slots, exact: true },
      })
    }
  } else shape = concatenated(left, right, true)
  if (item.alias) {
    shape = withAlias(shape, item.alias)
    // Postgres hides the inner names behind the alias; keeping them visible only adds candidates.
    level.entries.push({ name: item.alias.aliasname ?? null, schema: null, aliased: true, shape })
  }
  return shape
}

function concatenated(left: Shape, right: Shape, exact: boolean): Shape {
  return { slots: [...left.slots, ...right.slots], exact: exact && left.exact && right.exact }
}

/** NATURAL: the names both sides share, or null when either side's names are not all known. */
function naturalColumns(left: Shape, right: Shape): string[] | null {
  const names = (shape: Shape): string[] | null => {
    const known: string[] = []
    for (const slot of shape.slots) {
      if (slot.kind === 'spread' || slot.name === null) return null
      known.push(slot.name)
    }
    return shape.exact ? known : null
  }
  const leftNames = names(left)
  const rightNames = names(right)
  if (!leftNames || !rightNames) return null
  const shared = new Set(rightNames)
  return [...new Set(leftNames)].filter((name) => shared.has(name))
}

/**
 * USING / NATURAL: the merged columns first, then each side without them (Postgres:
 * SELECT, "FROM Clause"). A merged column missing from a side's named columns is in one of
 * its spreads, which may stand for one column fewer without moving anything.
 */
function mergedJoin(left: Shape, right: Shape, using: readonly string[]): Shape {
  const leftRest = withoutColumns(left, using)
  const rightRest = withoutColumns(right, using)
  if (!leftRest || !rightRest) return concatenated(left, right, false)
  const merged = using.map((name) => column(name, joinedTaint(left, right, name)))
  return { slots: [...merged, ...leftRest, ...rightRest], exact: true }
}

function withoutColumns(shape: Shape, names: readonly string[]): Slot[] | null {
  if (!shape.exact) return null
  const slots = [...shape.slots]
  for (const name of names) {
    const index = slots.findIndex((slot) => slot.kind === 'column' && slot.name === name)
    if (index >= 0) slots.splice(index, 1)
    else if (slots.some((slot) => slot.kind === 'column' && slot.name === null)) return null
    else if (!slots.some((slot) => slot.kind === 'spread'))
      throw new Untraceable(`join column "${name}" is missing from one side`)
  }
  return slots
}

function joinedTaint(left: Shape, right: Shape, name: string): Taint {
  return union(lookupColumn(left, name)?.taint ?? CLEAN, lookupColumn(right, name)?.taint ?? CLEAN)
}
