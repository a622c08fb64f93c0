/**
 * Name resolution as Postgres does it (parse_relation.c, parse_expr.c transformColumnRef):
 * the FROM items of each query level, innermost first, then the levels around it. Where the
 * catalog cannot say which item holds a column, every candidate counts (conservative).
 */
import type { Node } from 'libpg-query'
import type { CatalogIndex } from './catalog.ts'
import {
  CLEAN,
  lookupColumn,
  type Shape,
  type Taint,
  Untraceable,
  union,
  wholeTaint,
} from './shape.ts'

/** One FROM item as a query can name it. */
export type RangeEntry = {
  /** Its alias, else the relation's, CTE's or function's name; null: it cannot be named. */
  name: string | null
  /** The schema it was written with (`public.customers`), when it was and is not aliased. */
  schema: string | null
  /** Named by an alias: a schema-qualified reference cannot reach it. */
  aliased: boolean
  shape: Shape
}

/** A WITH entry, analysed when first needed (WITH RECURSIVE may refer ahead). */
export type CteBinding = { resolve(): Shape }

/** One query level. */
export type Scope = {
  entries: RangeEntry[]
  /** The top-level FROM items in order (a join counts once), for `*`. */
  tops: Shape[]
  ctes: Map<string, CteBinding> | null
  parent: Scope | null
}

/** The state of one statement's analysis. */
export type Analysis = {
  catalog: CatalogIndex
  /** Any query (SELECT, or INSERT/UPDATE/DELETE/MERGE for what they return), wrapped, in a scope. */
  query(node: unknown, parent: Scope | null): Shape
  /** Records why data would be copied out of masking's reach (the first reason is kept). */
  launder(why: string): void
  laundering: string | undefined
}

/** A query level inside `parent` (null: the statement's outermost). */
export function newScope(parent: Scope | null): Scope {
  return { entries: [], tops: [], ctes: null, parent }
}

/**
 * What a plain sub-select in FROM sees: the WITH entries of its level and the levels around
 * it, but not its sibling FROM items (only LATERAL ones do).
 */
export function withoutEntries(level: Scope): Scope {
  return { entries: [], tops: [], ctes: level.ctes, parent: level.parent }
}

/** The WITH entry an unqualified relation name means, nearest level first. */
export function findCte(scope: Scope | null, name: string): CteBinding | undefined {
  for (let level = scope; level; level = level.parent) {
    const binding = level.ctes?.get(name)
    if (binding) return binding
  }
  return undefined
}

/** The FROM items a (possibly schema-qualified) relation name refers to, nearest level first. */
export function findEntries(
  scope: Scope | null,
  name: string,
  schema: string | null
): RangeEntry[] {
  for (let level = scope; level; level = level.parent) {
    const found = level.entries.filter(
      (entry) =>
        entry.name === name &&
        (schema === null || (!entry.aliased && (entry.schema === null || entry.schema === schema)))
    )
    if (found.length > 0) return found
  }
  return []
}

/** Columns every table has besides its own (ddl-system-columns); none holds user data. */
const SYSTEM_COLUMNS = new Set(['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid'])

const STAR = Symbol('*')
type Part = string | typeof STAR

/** The taint of a ColumnRef: `email`, `c.email`, `public.customers.email`, `c.*`, `u`. */
export function columnRefTaint(fields: readonly Node[] | undefined, scope: Scope): Taint {
  const parts = (fields ?? []).map((field): Part => {
    if ('String' in field) return field.String.sval ?? ''
    if ('A_Star' in field) return STAR
    throw new Untraceable('unexpected column reference')
  })
  return partsTaint(parts, scope)
}

function partsTaint(parts: readonly Part[], scope: Scope): Taint {
  const last = parts.at(-1)
  if (last === undefined) throw new Untraceable('empty column reference')
  if (parts.length === 1) {
    if (last !== STAR) return bareColumn(last, scope)
    // `*` inside an expression: every item of the nearest level that has any.
    for (let level: Scope | null = scope; level; level = level.parent)
      if (level.entries.length > 0) return entriesTaint(level.entries)
    throw new Untraceable('* without a FROM item')
  }
  const table = parts.at(-2)
  const schema = parts.length >= 3 ? parts.at(-3) : null
  if (typeof table !== 'string' || schema === STAR)
    throw new Untraceable('malformed column reference')
  const entries = findEntries(scope, table, schema ?? null)
  if (entries.length > 0) {
    if (last === STAR) return entriesTaint(entries)
    let taint = CLEAN
    for (const entry of entries) {
      const found = lookupColumn(entry.shape, last)
      if (found?.definite) taint = union(taint, found.taint)
      // A system column, unless the name is an alias among the unnamed columns.
      else if (SYSTEM_COLUMNS.has(last)) taint = union(taint, found?.taint ?? CLEAN)
      // Not a column: `t.f` is also Postgres' functional notation `f(t)`, which sees the row.
      else taint = union(taint, wholeTaint(entry.shape))
    }
    return taint
  }
  // Not a relation: a composite column and one of its fields, `(c).f` written `c.f`.
  if (last === STAR) throw new Untraceable(`no FROM item named "${table}"`)
  return partsTaint(parts.slice(0, -1), scope)
}

function entriesTaint(entries: readonly RangeEntry[]): Taint {
  let taint = CLEAN
  for (const entry of entries) taint = union(taint, wholeTaint(entry.shape))
  return taint
}

/**
 * An unqualified name: a column of the nearest level that certainly has one so named (with
 * whatever items of unknown columns on the way might hold instead), else a whole-row
 * reference to a FROM item of that name.
 */
function bareColumn(name: string, scope: Scope): Taint {
  let maybe: Taint | null = null
  for (let level: Scope | null = scope; level; level = level.parent) {
    let definite: Taint | null = null
    for (const entry of level.entries) {
      const found = lookupColumn(entry.shape, name)
      if (!found) continue
      if (found.definite) definite = union(definite ?? CLEAN, found.taint)
      else maybe = union(maybe ?? CLEAN, found.taint)
    }
    if (definite) return union(definite, maybe ?? CLEAN)
  }
  const rows = findEntries(scope, name, null)
  if (rows.length > 0) return union(entriesTaint(rows), maybe ?? CLEAN)
  if (maybe) return maybe
  if (SYSTEM_COLUMNS.has(name)) return CLEAN
  throw new Untraceable(`column "${name}" is not in scope`)
}
