/**
 * Column lineage of one statement: which sensitive columns each result column derives from,
 * so the tunnel can mask rows it never parses as SQL values, and whether the statement would
 * copy sensitive data out of masking's reach. Pure: the parse tree and the catalog in, a
 * verdict out; nothing here throws.
 */
import type { CopyStmt, CreateTableAsStmt, Node, ViewStmt } from 'libpg-query'
import { hasOption, type NodeFields, qualifiedName, unwrap } from '../../policy/sql/ast.ts'
import { cleanColumns, newAnalysis, traceResult, untraceableReason } from './analysis.ts'
import {
  catalogIndex,
  type LineageCatalog,
  type ResultLineage,
  reasonsOf,
  type StatementLineage,
} from './catalog.ts'
import { copyOutOptions } from './copy-options.ts'
import { expressionTaint } from './expression-sources.ts'
import { relationEntry } from './from-clause.ts'
import { type Analysis, newScope } from './scope.ts'
import { column, lookupColumn, type Shape, starSlots, Untraceable, wholeTaint } from './shape.ts'
import { sensitiveRelationsIn } from './touches.ts'

type Outcome = Omit<StatementLineage, 'touchesSensitive' | 'laundering'>

const WRITES = new Set(['InsertStmt', 'UpdateStmt', 'MergeStmt'])
const DATA_MODIFYING = new Set([...WRITES, 'DeleteStmt'])
/** Postgres' DECLARE option bit for BINARY (nodes/parsenodes.h CURSOR_OPT_BINARY). */
const CURSOR_OPT_BINARY = 0x0001

/** Analyses one statement of a parse tree (one element of ParseResult.stmts, its `stmt`). */
export function statementLineage(stmt: unknown, catalog: LineageCatalog): StatementLineage {
  const index = catalogIndex(catalog)
  let touchesSensitive: boolean
  try {
    touchesSensitive = sensitiveRelationsIn(stmt, index).length > 0
  } catch {
    touchesSensitive = true // a tree too deep to walk: assume the worst
  }
  const analysis = newAnalysis(index)
  let outcome: Outcome
  try {
    outcome = analyseStatement(stmt, analysis, touchesSensitive)
  } catch (error) {
    // Each analysis above fails closed on its own; this only guards against the unforeseen.
    const reason = untraceableReason(error)
    if (touchesSensitive) analysis.launder(`cannot trace the statement: ${reason}`)
    outcome = { result: { kind: 'unknown', reason } }
  }
  const { laundering } = analysis
  return { touchesSensitive, ...outcome, ...(laundering ? { laundering } : {}) }
}

function analyseStatement(stmt: unknown, analysis: Analysis, touches: boolean): Outcome {
  const node = unwrap(stmt)
  if (!node) return { result: touches ? { kind: 'unknown', reason: 'not a statement' } : null }
  const { type, fields } = node
  const query = (writes: boolean) =>
    trace(() => analysis.query(stmt, null), analysis, touches, writes)
  switch (type) {
    case 'SelectStmt': {
      const into = fields.intoClause !== undefined
      const result = query(into || hasWritableCte(fields))
      return { result: into ? null : result }
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt': {
      const result = query(WRITES.has(type) || hasWritableCte(fields))
      return { result: fields.returningList ? result : null }
    }
    case 'MergeStmt':
      query(true)
      return { result: null }
    case 'CopyStmt':
      return copyStatement(fields as CopyStmt, analysis, touches)
    case 'DeclareCursorStmt':
    case 'PrepareStmt':
      return declaration(type, fields, analysis, touches)
    case 'FetchStmt':
      return { result: fields.ismove ? null : { kind: 'cursor', name: String(fields.portalname) } }
    case 'ExecuteStmt':
      return { result: { kind: 'prepared', name: String(fields.name) } }
    case 'ExplainStmt':
      // Only plan text comes back; ANALYZE runs the statement, which may still launder.
      if (hasOption(fields.options, 'analyze')) analyseStatement(fields.query, analysis, touches)
      return { result: cleanColumns(1) }
    case 'VariableShowStmt':
      return { result: cleanColumns(fields.name === 'all' ? 3 : 1) }
    case 'CallStmt':
      return { result: procedureResult(fields, analysis, touches) }
    case 'CreateTableAsStmt':
      createTableAs(fields as CreateTableAsStmt, analysis, touches)
      return { result: null }
    case 'ViewStmt':
      createView(fields as ViewStmt, analysis, touches)
      return { result: null }
    case 'RuleStmt':
      // A rule's actions run later, on another statement's behalf, out of this analysis' sight.
      if (touches) analysis.launder('a rule that reads sensitive relations')
      return { result: null }
    default:
      // No other utility statement returns rows (tcop/utility.c UtilityReturnsTuples).
      return { result: null }
  }
}

/** Traces a query; an untraceable write that touches sensitive data counts as laundering. */
function trace(
  run: () => Shape,
  analysis: Analysis,
  touches: boolean,
  writes: boolean
): ResultLineage {
  return traceResult(run, touches, (reason) => {
    if (writes && touches) analysis.launder(`cannot trace what the statement writes: ${reason}`)
  })
}

function hasWritableCte(fields: NodeFields): boolean {
  const clause = fields.withClause as { ctes?: Node[] } | undefined
  return (clause?.ctes ?? []).some((cte) => {
    const body = 'CommonTableExpr' in cte ? unwrap(cte.CommonTableExpr.ctequery) : null
    return body !== null && DATA_MODIFYING.has(body.type)
  })
}

/** COPY … TO STDOUT; COPY FROM and COPY to a server file or program send no rows. */
function copyStatement(copy: CopyStmt, analysis: Analysis, touches: boolean): Outcome {
  if (copy.is_from || copy.is_program || copy.filename !== undefined) return { result: null }
  const copyOut = copyOutOptions(copy.options)
  if (!copyOut) return { result: null }
  const writes = unwrap(copy.query)?.type
  const result = trace(
    () => copyShape(copy, analysis),
    analysis,
    touches,
    writes !== undefined && DATA_MODIFYING.has(writes)
  )
  return { result, copyOut }
}

function copyShape(copy: CopyStmt, analysis: Analysis): Shape {
  if (copy.query) return analysis.query(copy.query, null)
  const { entry } = relationEntry(copy.relation ?? {}, newScope(null), analysis, false)
  if (!copy.attlist) return { slots: starSlots(entry.shape), exact: true }
  const slots = copy.attlist.map((node) => {
    const name = 'String' in node ? (node.String.sval ?? '') : ''
    const found = lookupColumn(entry.shape, name)
    if (!found) throw new Untraceable(`COPY column "${name}" is not in the table`)
    return column(name, found.taint)
  })
  return { slots, exact: true }
}

function declaration(
  type: 'DeclareCursorStmt' | 'PrepareStmt',
  fields: NodeFields,
  analysis: Analysis,
  touches: boolean
): Outcome {
  const body = unwrap(fields.query)
  const writes = body !== null && (WRITES.has(body.type) || hasWritableCte(body.fields))
  const result = trace(() => analysis.query(fields.query, null), analysis, touches, writes)
  if (type === 'PrepareStmt')
    return { result: null, declares: { kind: 'prepared', name: String(fields.name), result } }
  const binary = ((fields.options as number | undefined) ?? 0) & CURSOR_OPT_BINARY
  const name = String(fields.portalname)
  return {
    result: null,
    declares: { kind: 'cursor', name, result, ...(binary ? { binary: true } : {}) },
  }
}

/** CALL returns one row of a procedure's OUT arguments, if it has any, derived from its inputs. */
function procedureResult(fields: NodeFields, analysis: Analysis, touches: boolean): ResultLineage {
  return traceResult(() => {
    const taint = expressionTaint(fields.funccall, newScope(null), analysis)
    return { slots: [{ kind: 'spread', taint }], exact: true }
  }, touches)
}

function createTableAs(create: CreateTableAsStmt, analysis: Analysis, touches: boolean): void {
  const what = create.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS'
  const into = qualifiedName(relationParts(create.into?.rel))
  if (create.query && 'ExecuteStmt' in create.query) {
    // What the prepared statement reads is known to the session, not to this analysis.
    analysis.launder(`${what} EXECUTE into ${into} cannot be traced`)
    return
  }
  copiesInto(what, into, create.query, analysis, touches)
}

function createView(view: ViewStmt, analysis: Analysis, touches: boolean): void {
  copiesInto('CREATE VIEW', qualifiedName(relationParts(view.view)), view.query, analysis, touches)
}

/**
 * A new table or view filled from a query: its columns are not in the masking catalog, so
 * any sensitive data in them would be read back unmasked.
 */
function copiesInto(
  what: string,
  into: string,
  query: unknown,
  analysis: Analysis,
  touches: boolean
): void {
  try {
    const taint = wholeTaint(analysis.query(query, null))
    if (taint.size > 0)
      analysis.launder(`${what} copies ${reasonsOf(taint).join(', ')} into ${into}`)
  } catch (error) {
    if (touches) analysis.launder(`${what} ${into} cannot be traced: ${untraceableReason(error)}`)
  }
}

function relationParts(relation: { schemaname?: string; relname?: string } | undefined): string[] {
  return [relation?.schemaname, relation?.relname].filter((p): p is string => p !== undefined)
}
