/**
 * Everything one statement's parse tree refers to: relations, functions, and the facts that
 * make a query more than a read (a data-modifying statement inside it, row locks, SELECT
 * INTO). One walk over the whole tree, so nothing hides in a subquery, a CTE, a join, a
 * DEFAULT expression or a function's SQL body. CTE names are scoped as Postgres scopes them,
 * so a CTE cannot hide a real table of the same name elsewhere in the statement.
 */
import type { Node } from 'libpg-query'
import { type NodeFields, qualifiedName, stringList, unwrap } from './ast.ts'
import { functionEffect } from './functions.ts'
import type { Effect } from './settings.ts'

/** What a statement's tree refers to. */
export type References = {
  /** Relation names in order of appearance in the text. */
  tables: string[]
  /** Function names in order of appearance in the text. */
  functions: string[]
  /** Effects of the functions called, for those that have one (see functions.ts). */
  functionEffects: Effect[]
  /** An INSERT, UPDATE, DELETE or MERGE inside another query: a writable CTE. */
  nestedWrite: boolean
  /** The first row-locking clause found, e.g. 'FOR UPDATE'. */
  rowLock: string | null
  /** A SELECT … INTO, which creates a table. */
  selectInto: boolean
}

const DATA_MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'])
const QUERIES = new Set([...DATA_MODIFYING, 'SelectStmt'])

/** Object types whose names in DROP, COMMENT and SECURITY LABEL are relations. */
const RELATION_OBJECTS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_SEQUENCE',
  'OBJECT_INDEX',
])

const LOCK_STRENGTHS: Record<string, string> = {
  LCS_FORKEYSHARE: 'FOR KEY SHARE',
  LCS_FORSHARE: 'FOR SHARE',
  LCS_FORNOKEYUPDATE: 'FOR NO KEY UPDATE',
  LCS_FORUPDATE: 'FOR UPDATE',
}

type Named = { name: string; location: number; order: number }

const NO_CTES: ReadonlySet<string> = new Set()

/** Walks one statement's tree (a wrapped node, as in `RawStmt.stmt`). */
export function collectReferences(statement: Node): References {
  const tables = new Map<string, Named>()
  const functions = new Map<string, Named>()
  const result: References = {
    tables: [],
    functions: [],
    functionEffects: [],
    nestedWrite: false,
    rowLock: null,
    selectInto: false,
  }

  /** Keeps each name once, at its earliest position in the text. */
  const remember = (into: Map<string, Named>, name: string, location: unknown) => {
    const at = typeof location === 'number' ? location : Number.POSITIVE_INFINITY
    const seen = into.get(name)
    if (!seen) into.set(name, { name, location: at, order: into.size })
    else if (at < seen.location) seen.location = at
  }

  const addRelation = (fields: NodeFields, ctes: ReadonlySet<string>) => {
    const { catalogname, schemaname, relname } = fields
    if (typeof relname !== 'string') return
    // Only an unqualified name can refer to a CTE; `public.x` is always the table.
    if (catalogname === undefined && schemaname === undefined && ctes.has(relname)) return
    const parts = [catalogname, schemaname, relname].filter(
      (part): part is string => typeof part === 'string'
    )
    remember(tables, qualifiedName(parts), fields.location)
  }

  const addFunction = (fields: NodeFields, ctes: ReadonlySet<string>, depth: number) => {
    let parts = stringList(fields.funcname as Node[] | undefined)
    // EXTRACT(…), TRIM(…), SUBSTRING(… FROM …): the parser names these pg_catalog.*.
    if (fields.funcformat === 'COERCE_SQL_SYNTAX' && parts[0] === 'pg_catalog')
      parts = parts.slice(1)
    const last = parts.at(-1)
    if (last === undefined) return
    remember(functions, qualifiedName(parts), fields.location)
    const effect = functionEffect(last, fields.args as Node[] | undefined)
    if (effect) result.functionEffects.push(effect)
    for (const key in fields) if (key !== 'funcname') visit(fields[key], ctes, depth)
  }

  const visit = (value: unknown, ctes: ReadonlySet<string>, depth: number): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, ctes, depth)
      return
    }
    if (typeof value !== 'object' || value === null) return
    const node = unwrap(value)
    if (node) {
      visitNode(node.type, node.fields, ctes, depth)
      return
    }
    // A struct in a field of a specific type: `relation`, `rel`, `view`, ... are the
    // relations a statement targets, never CTEs.
    const fields = value as NodeFields
    if (typeof fields.relname === 'string') {
      addRelation(fields, NO_CTES)
      return
    }
    for (const key in fields) visit(fields[key], ctes, depth)
  }

  const visitNode = (
    type: string,
    fields: NodeFields,
    ctes: ReadonlySet<string>,
    depth: number
  ): void => {
    if (QUERIES.has(type)) {
      visitQuery(type, fields, ctes, depth)
      return
    }
    switch (type) {
      case 'RangeVar':
        addRelation(fields, ctes)
        return
      case 'FuncCall':
        addFunction(fields, ctes, depth)
        return
      case 'CallStmt':
        if (fields.funccall) addFunction(fields.funccall as NodeFields, ctes, depth)
        return
      case 'CreateTrigStmt':
      case 'CreateEventTrigStmt':
        // The function it wires up is called on every firing.
        remember(functions, qualifiedName(stringList(fields.funcname as Node[])), undefined)
        break
      case 'LockingClause':
        result.rowLock ??= LOCK_STRENGTHS[String(fields.strength)] ?? 'row lock'
        break
      case 'DropStmt':
        if (RELATION_OBJECTS.has(String(fields.removeType)))
          for (const object of (fields.objects as Node[] | undefined) ?? [])
            addNamedRelation(object, false)
        break
      case 'CommentStmt':
      case 'SecLabelStmt':
        if (RELATION_OBJECTS.has(String(fields.objtype)))
          addNamedRelation(fields.object as Node | undefined, false)
        else if (fields.objtype === 'OBJECT_COLUMN')
          addNamedRelation(fields.object as Node | undefined, true)
        break
    }
    for (const key in fields) visit(fields[key], ctes, depth)
  }

  /** A relation named by a `List` of `String`s (DROP, COMMENT): no location, no CTEs. */
  const addNamedRelation = (object: Node | undefined, dropLastPart: boolean) => {
    if (!object || !('List' in object)) return
    const parts = stringList(object.List.items)
    const relation = dropLastPart ? parts.slice(0, -1) : parts
    if (relation.length > 0) remember(tables, qualifiedName(relation), undefined)
  }

  const visitQuery = (
    type: string,
    fields: NodeFields,
    outer: ReadonlySet<string>,
    depth: number
  ): void => {
    if (depth > 0 && DATA_MODIFYING.has(type)) result.nestedWrite = true
    if (type === 'SelectStmt' && fields.intoClause) result.selectInto = true
    let ctes = outer
    const withClause = fields.withClause as { ctes?: Node[]; recursive?: boolean } | undefined
    if (withClause) {
      const definitions = (withClause.ctes ?? []).flatMap((cte) =>
        'CommonTableExpr' in cte ? [cte.CommonTableExpr] : []
      )
      // WITH RECURSIVE: every CTE sees every other and itself. Plain WITH: each sees only
      // the ones before it, so `WITH users AS (SELECT * FROM users)` reads the table.
      const scope = new Set(outer)
      if (withClause.recursive) for (const cte of definitions) scope.add(cte.ctename ?? '')
      for (const cte of definitions) {
        visit(cte, scope, depth + 1)
        scope.add(cte.ctename ?? '')
      }
      ctes = scope
    }
    for (const key in fields) {
      if (key === 'withClause') continue
      // UNION/INTERSECT/EXCEPT branches: bare SelectStmts, each with its own scope.
      if (key === 'larg' || key === 'rarg')
        visitQuery('SelectStmt', fields[key] as NodeFields, ctes, depth)
      else visit(fields[key], ctes, depth + 1)
    }
  }

  visit(statement, NO_CTES, 0)
  result.tables = inTextOrder(tables)
  result.functions = inTextOrder(functions)
  return result
}

function inTextOrder(named: Map<string, Named>): string[] {
  return [...named.values()]
    .sort((a, b) => a.location - b.location || a.order - b.order)
    .map((entry) => entry.name)
}
