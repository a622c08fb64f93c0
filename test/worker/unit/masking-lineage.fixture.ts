/**
 * The catalog the lineage tests run against: customers with three sensitive columns, a
 * mixed-case contacts table in another schema, a clean audit table, and a view over
 * customers derived with sensitiveViews. `orders` is deliberately not in it.
 */
import type { RawStmt } from 'libpg-query'
import {
  type CatalogRelation,
  type LineageCatalog,
  type LineageItem,
  type ResultLineage,
  type StatementLineage,
  sensitiveViews,
  statementLineage,
} from '../../../src/masking/sql/index.ts'
import { parseSql } from '../../../src/policy/sql/index.ts'

export const EMAIL = 'column:public.customers.email'
export const CARD = 'column:public.customers.card'
export const PHONE = 'column:public.customers.phone'
export const CRM_EMAIL = 'column:crm.contacts.email'

export function relation(
  schema: string,
  name: string,
  columns: string[],
  sensitive: string[]
): CatalogRelation {
  return {
    schema,
    name,
    columns,
    sensitive: new Map(sensitive.map((column) => [column, [`column:${schema}.${name}.${column}`]])),
  }
}

export const BASE: LineageCatalog = {
  relations: [
    relation(
      'public',
      'customers',
      ['id', 'email', 'name', 'card', 'phone', 'notes'],
      ['email', 'card', 'phone']
    ),
    relation('crm', 'contacts', ['id', 'Email', 'email'], ['email']),
    relation('public', 'audit', ['id', 'body'], []),
  ],
}

/** The one statement of `sql`, as a tree. */
export async function parseOne(sql: string): Promise<RawStmt['stmt']> {
  const parsed = await parseSql(sql)
  if (!parsed.ok) throw new Error(`${sql}: ${parsed.message}`)
  const [raw, ...more] = parsed.tree.stmts ?? []
  if (!raw || more.length > 0) throw new Error(`${sql}: expected one statement`)
  return raw.stmt
}

/** BASE plus the view customer_emails (id, email) AS SELECT id, email FROM customers. */
export async function withViews(): Promise<LineageCatalog> {
  const views = sensitiveViews(BASE, [
    {
      schema: 'public',
      name: 'customer_emails',
      columns: ['id', 'email'],
      definition: await parseOne('SELECT id, email FROM customers'),
    },
  ])
  return { relations: [...BASE.relations, ...views] }
}

export async function lineageOf(sql: string, catalog: LineageCatalog): Promise<StatementLineage> {
  return statementLineage(await parseOne(sql), catalog)
}

export function col(...reasons: string[]): LineageItem {
  return { kind: 'column', reasons }
}

export const SPREAD: LineageItem = { kind: 'spread', reasons: [] }

export function columns(...items: LineageItem[]): ResultLineage {
  return { kind: 'columns', items }
}

/** customers' columns as `*` yields them. */
export const CUSTOMER_ITEMS = [col(), col(EMAIL), col(), col(CARD), col(PHONE), col()]
