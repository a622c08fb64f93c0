/**
 * What the origin's catalog says about the policy's sensitive columns: which relations
 * hold them (by OID and attribute number, as RowDescription names a column), every
 * column of those relations (to expand `*`), and the views built on them, whose columns
 * are traced through their definitions. Read once per session, on the gateway's own
 * login, before the client's first statement.
 */
import { concatBytes } from '../../../encoding.ts'
import { GatehouseError } from '../../../errors.ts'
import type { ColumnMask } from '../../../masking/profile.ts'
import {
  type CatalogRelation,
  type LineageCatalog,
  sensitiveViews,
} from '../../../masking/sql/index.ts'
import type { MaskReason } from '../../../masking/types.ts'
import { parseSql } from '../../../policy/sql/index.ts'
import { decodeBackendMessage } from '../codec/backend.ts'
import { encodeFrontendMessage } from '../codec/frontend.ts'
import type { OriginSession } from '../origin.ts'

export type MaskingCatalog = {
  lineage: LineageCatalog
  /** `<table OID>:<attribute number>` → why that column is sensitive. */
  direct: ReadonlyMap<string, readonly MaskReason[]>
  /** Bare names of relations with sensitive columns: statements naming none skip lineage. */
  names: ReadonlySet<string>
}

/** Views over views over … are followed this deep, at most. */
const MAX_VIEW_DEPTH = 16

type CatalogRow = {
  oid: number
  schema: string
  name: string
  kind: string
  columns: [number, string][]
  definition: string | null
  /** For a partition or inheritance child, the relation the policy named; else itself. */
  root: { schema: string; name: string }
}

/**
 * The catalog for these columns, read over `origin` with one simple Query. Fails (and so
 * fails the session closed) if the origin does not answer as Postgres should.
 */
export async function loadMaskingCatalog(
  origin: OriginSession,
  columns: readonly ColumnMask[]
): Promise<MaskingCatalog> {
  const rows = await queryRows(origin, catalogSql(columns))
  const base: CatalogRelation[] = []
  const views: Parameters<typeof sensitiveViews>[1][number][] = []
  const oids = new Map<string, { oid: number; attnums: Map<string, number> }>()
  for (const row of rows) {
    const names = row.columns.map(([, name]) => name)
    oids.set(`${row.schema}.${row.name}`, {
      oid: row.oid,
      attnums: new Map(row.columns.map(([attnum, name]) => [name, attnum])),
    })
    const sensitive = new Map<string, MaskReason[]>()
    // A partition or child table holds its parent's columns, and so its sensitivity.
    const { root } = row
    for (const column of columns) {
      if (column.table !== root.name || (column.schema && column.schema !== root.schema)) continue
      if (!names.includes(column.column)) continue
      sensitive.set(column.column, [...(sensitive.get(column.column) ?? []), column.reason])
    }
    if (sensitive.size > 0 || row.definition === null) {
      base.push({ schema: row.schema, name: row.name, columns: names, sensitive })
      continue
    }
    const parsed = await parseSql(row.definition)
    const statement = parsed.ok ? parsed.tree.stmts?.[0]?.stmt : undefined
    if (!statement) {
      // A view we cannot read could carry anything: every column of it is sensitive.
      const reason = `view:${row.schema}.${row.name}`
      base.push({
        schema: row.schema,
        name: row.name,
        columns: names,
        sensitive: new Map(names.map((name) => [name, [reason]])),
      })
      continue
    }
    views.push({ schema: row.schema, name: row.name, columns: names, definition: statement })
  }
  const relations = [...base, ...sensitiveViews({ relations: base }, views)]
  const direct = new Map<string, MaskReason[]>()
  const names = new Set<string>()
  for (const relation of relations) {
    if (relation.sensitive.size === 0) continue
    names.add(relation.name)
    const found = oids.get(`${relation.schema}.${relation.name}`)
    if (!found) continue
    for (const [column, reasons] of relation.sensitive) {
      const attnum = found.attnums.get(column)
      if (attnum !== undefined) direct.set(`${found.oid}:${attnum}`, [...reasons])
    }
  }
  return { lineage: { relations }, direct, names }
}

/**
 * One statement: the relations the policy names (any schema when it names none), their
 * partitions and inheritance children, then every view that depends on any of them,
 * transitively, with its columns and definition.
 */
function catalogSql(columns: readonly ColumnMask[]): string {
  const matches = [
    ...new Set(
      columns.map((column) =>
        column.schema
          ? `(n.nspname = ${literal(column.schema)} AND c.relname = ${literal(column.table)})`
          : `c.relname = ${literal(column.table)}`
      )
    ),
  ]
  return `WITH RECURSIVE named AS (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND (${matches.join(' OR ') || 'false'})
), base(oid, root) AS (
  SELECT oid, oid FROM named
  UNION
  SELECT i.inhrelid, base.root FROM base JOIN pg_catalog.pg_inherits i ON i.inhparent = base.oid
), related(oid, depth) AS (
  SELECT oid, 0 FROM base
  UNION
  SELECT r.ev_class, related.depth + 1 FROM related
  JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = related.oid
    AND d.classid = 'pg_catalog.pg_rewrite'::regclass
  JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> related.oid
  WHERE related.depth < ${MAX_VIEW_DEPTH}
)
SELECT c.oid, n.nspname, c.relname, c.relkind,
  (SELECT json_agg(json_build_array(a.attnum, a.attname) ORDER BY a.attnum)
     FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  CASE WHEN c.oid IN (SELECT oid FROM base) THEN NULL ELSE pg_catalog.pg_get_viewdef(c.oid) END,
  rn.nspname, r.relname
FROM (SELECT DISTINCT oid FROM related) v
JOIN pg_catalog.pg_class c ON c.oid = v.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN (SELECT DISTINCT ON (oid) oid, root FROM base) b ON b.oid = c.oid
LEFT JOIN pg_catalog.pg_class r ON r.oid = coalesce(b.root, c.oid)
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace`
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

async function queryRows(origin: OriginSession, sql: string): Promise<CatalogRow[]> {
  await origin.writer.write(concatBytes([encodeFrontendMessage({ type: 'Query', sql })]))
  const rows: CatalogRow[] = []
  let failure: string | undefined
  const decoder = new TextDecoder()
  for (;;) {
    const frame = await origin.frames.next()
    if (frame?.phase !== 'normal') {
      throw new GatehouseError(
        'origin.unreachable',
        'The origin closed the connection while Gatehouse read its catalog.'
      )
    }
    const message = decodeBackendMessage(frame)
    if (message.type === 'DataRow') {
      const [oid, schema, name, kind, columns, definition, rootSchema, rootName] =
        message.values.map((value) => (value === null ? null : decoder.decode(value)))
      rows.push({
        oid: Number(oid),
        schema: schema ?? '',
        name: name ?? '',
        kind: kind ?? '',
        columns: columns ? (JSON.parse(columns) as [number, string][]) : [],
        definition: definition ?? null,
        root: { schema: rootSchema ?? schema ?? '', name: rootName ?? name ?? '' },
      })
    } else if (message.type === 'ErrorResponse') {
      failure = message.fields.message ?? 'unknown error'
    } else if (message.type === 'ReadyForQuery') {
      if (failure !== undefined) {
        throw new GatehouseError(
          'masking.catalog_unavailable',
          'Gatehouse could not read which columns to mask from the origin, so the session was not started.',
          { detail: failure }
        )
      }
      return rows
    }
  }
}
