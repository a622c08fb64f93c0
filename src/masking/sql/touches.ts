/**
 * Which sensitive catalog relations a statement names anywhere: FROM items, DML targets,
 * subqueries in WHERE, COPY, DECLARE, EXPLAIN, DDL. One walk over the whole tree, apart from
 * the lineage analysis, so a statement that analysis cannot follow is still known to touch
 * sensitive data. WITH names shadow relations where Postgres scopes them (see
 * policy/sql/references.ts, which this mirrors).
 */
import { type NodeFields, unwrap } from '../../policy/sql/ast.ts'
import type { CatalogIndex, CatalogRelation } from './catalog.ts'

const QUERIES = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'])
const NO_CTES: ReadonlySet<string> = new Set()

/** The sensitive relations `statement` (a wrapped node) may read or write, each once. */
export function sensitiveRelationsIn(statement: unknown, catalog: CatalogIndex): CatalogRelation[] {
  const found = new Set<CatalogRelation>()

  const addRelation = (fields: NodeFields, ctes: ReadonlySet<string>) => {
    const { schemaname, relname } = fields
    if (typeof relname !== 'string') return
    const schema = typeof schemaname === 'string' ? schemaname : null
    if (schema === null && ctes.has(relname)) return
    for (const relation of catalog.named(schema, relname))
      if (relation.sensitive.size > 0) found.add(relation)
  }

  const visit = (value: unknown, ctes: ReadonlySet<string>): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, ctes)
      return
    }
    if (typeof value !== 'object' || value === null) return
    const node = unwrap(value)
    const fields = node ? node.fields : (value as NodeFields)
    if (node?.type === 'RangeVar') addRelation(fields, ctes)
    else if (node && QUERIES.has(node.type)) visitQuery(fields, ctes)
    // A bare RangeVar (`relation`, `rel`, `view` fields) is a target, never a WITH entry.
    else if (!node && typeof fields.relname === 'string') addRelation(fields, NO_CTES)
    else for (const key in fields) visit(fields[key], ctes)
  }

  const visitQuery = (fields: NodeFields, outer: ReadonlySet<string>): void => {
    let ctes = outer
    const clause = fields.withClause as { ctes?: unknown[]; recursive?: boolean } | undefined
    if (clause) {
      const scope = new Set(outer)
      const names = (clause.ctes ?? []).map((cte) => {
        const name = unwrap(cte)?.fields.ctename
        return typeof name === 'string' ? name : ''
      })
      if (clause.recursive) for (const name of names) scope.add(name)
      ;(clause.ctes ?? []).forEach((cte, i) => {
        visit(cte, scope)
        scope.add(names[i] ?? '')
      })
      ctes = scope
    }
    for (const key in fields) {
      if (key === 'withClause') continue
      // UNION/INTERSECT/EXCEPT branches are bare SelectStmts.
      if (key === 'larg' || key === 'rarg') visitQuery(fields[key] as NodeFields, ctes)
      else visit(fields[key], ctes)
    }
  }

  visit(statement, NO_CTES)
  return [...found]
}
