/**
 * SQL column lineage for masking: which sensitive catalog columns each result column of a
 * Postgres statement derives from, how to line that up with the columns actually returned,
 * and which view columns are sensitive.
 */
export { alignLineage } from './align.ts'
export type {
  CatalogRelation,
  CopyOut,
  LineageCatalog,
  LineageItem,
  ResultLineage,
  StatementLineage,
} from './catalog.ts'
export { statementLineage } from './statement-lineage.ts'
export { sensitiveViews, type ViewDefinition } from './views.ts'
