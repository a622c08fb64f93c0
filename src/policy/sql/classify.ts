/**
 * SQL classification as Postgres itself reads the text: the real grammar splits the batch
 * and builds each statement's tree, and the rules here read that tree. Pure: the parser is
 * passed in, so the Worker, the tests and the benchmark share this code. Nothing here
 * throws for any input; what is not fully understood is one `unknown` statement.
 */
import type { Node, RawStmt } from 'libpg-query'
import { type Classification, riskier, type SqlClass, type StatementInfo } from './classes.ts'
import type { PgQuery } from './pg-query.ts'
import { collectReferences } from './references.ts'
import { judgeStatement, type PreparedLookup, type StatementVerdict } from './statements.ts'

/**
 * Longer SQL is not parsed. A megabyte of VALUES already costs a quarter of a second of CPU,
 * and the parser's WebAssembly memory, once grown, stays grown for the isolate's life.
 */
export const MAX_SQL_CHARS = 1_048_576

export type ClassifyOptions = {
  /**
   * The SQL of statements prepared earlier in this session, by name, as sent (`PREPARE q AS
   * …`). With it, `EXECUTE q` is classified as what it runs; without it, as unknown.
   */
  prepared?: ReadonlyMap<string, string>
}

type Analysis = StatementVerdict & { tables: string[]; functions: string[] }

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()
const NON_ASCII = /[\u0080-\uffff]/

/** Classifies a (possibly multi-statement) SQL string with a ready parser. */
export function classifyWith(
  parser: PgQuery,
  sql: string,
  options: ClassifyOptions = {}
): Classification {
  if (sql.length > MAX_SQL_CHARS)
    return failClosed(sql, `SQL longer than ${MAX_SQL_CHARS} characters is not classified`)
  // Postgres answers an empty query with EmptyQueryResponse; there is nothing to allow.
  if (sql.trim() === '') return failClosed(sql, 'no SQL statement')
  try {
    const outcome = parser.parse(sql)
    if (!outcome.ok) {
      const at = outcome.position === undefined ? '' : ` at character ${outcome.position}`
      return failClosed(sql, `${outcome.message}${at}`)
    }
    const raws = outcome.tree.stmts ?? []
    if (raws.length === 0) return failClosed(sql, 'no SQL statement')
    const texts = statementTexts(sql, raws)
    const prepared = preparedLookup(parser, options.prepared)
    const statements = raws.map((raw, index): StatementInfo => {
      const { stmt } = raw
      const analysis = stmt ? analyse(stmt, prepared) : unrecognised()
      return {
        text: texts[index] ?? '',
        class: analysis.class,
        kind: (stmt && Object.keys(stmt)[0]) ?? 'Unknown',
        writes: analysis.writes,
        tables: analysis.tables,
        functions: analysis.functions,
        risks: analysis.risks,
      }
    })
    return { ok: true, statements }
  } catch (error) {
    // A parser failure, or a tree deep enough to exhaust the stack: fail closed.
    return failClosed(sql, `SQL could not be classified: ${(error as Error).message}`)
  }
}

/** A statement's verdict with the effects of the functions it calls folded in. */
function analyse(statement: Node, prepared: PreparedLookup): Analysis {
  const references = collectReferences(statement)
  const verdict = judgeStatement(statement, references, prepared)
  let cls: SqlClass = verdict.class
  let writes = verdict.writes
  const risks = [...verdict.risks]
  for (const effect of references.functionEffects) {
    cls = riskier(cls, effect.class)
    writes ||= effect.writes
    if (effect.risk) risks.push(effect.risk)
  }
  // UPDATE pg_settings is SET in disguise (its rule calls set_config): judge it like SET of
  // anything, since the value could make the server read SQL differently from this parser.
  if (writes && references.tables.some(isPgSettings)) {
    cls = riskier(cls, 'admin')
    risks.push('changes server settings through pg_settings')
  }
  return {
    class: cls,
    writes: writes || cls === 'unknown',
    risks: unique(risks),
    tables: unique([...references.tables, ...(verdict.tables ?? [])]),
    functions: unique([...references.functions, ...(verdict.functions ?? [])]),
  }
}

/**
 * EXECUTE q is what `PREPARE q AS …` prepared, when the session kept its text. The
 * prepared text is parsed again here rather than trusted from an earlier result, so a
 * caller cannot hand in a verdict.
 */
function preparedLookup(
  parser: PgQuery,
  prepared: ReadonlyMap<string, string> | undefined
): PreparedLookup {
  return (name) => {
    const sql = prepared?.get(name)
    if (sql === undefined) return undefined
    const outcome = parser.parse(sql)
    const only = outcome.ok && outcome.tree.stmts?.length === 1 ? outcome.tree.stmts[0]?.stmt : null
    if (!only) return undefined
    if (!('PrepareStmt' in only)) return analyse(only, () => undefined)
    const { name: preparedName, query } = only.PrepareStmt
    if (preparedName !== name || !query) return undefined
    return analyse(query, () => undefined)
  }
}

/** Each statement's own text, from the parser's byte locations into the UTF-8 input. */
function statementTexts(sql: string, raws: readonly RawStmt[]): string[] {
  const bytes = NON_ASCII.test(sql) ? utf8Encoder.encode(sql) : null
  const total = bytes ? bytes.length : sql.length
  return raws.map((raw) => {
    // Omitted fields are zero: location 0 is the start; length 0 runs to the end.
    const start = raw.stmt_location ?? 0
    const end = raw.stmt_len ? start + raw.stmt_len : total
    const text = bytes ? utf8Decoder.decode(bytes.subarray(start, end)) : sql.slice(start, end)
    return text.trim()
  })
}

function unrecognised(): Analysis {
  return {
    class: 'unknown',
    writes: true,
    risks: ['unrecognised statement'],
    tables: [],
    functions: [],
  }
}

/** The whole input as one unknown statement: nothing of a half-understood batch is passed. */
export function failClosed(sql: string, error: string): Classification {
  return {
    ok: false,
    error,
    statements: [
      {
        text: sql.trim(),
        class: 'unknown',
        kind: 'Unparsed',
        writes: true,
        tables: [],
        functions: [],
        risks: ['unparsed SQL'],
      },
    ],
  }
}

function unique(values: readonly string[]): string[] {
  return values.length < 2 ? [...values] : [...new Set(values)]
}

function isPgSettings(table: string): boolean {
  return table === 'pg_settings' || table === 'pg_catalog.pg_settings'
}
