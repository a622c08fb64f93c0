/**
 * SQL classification for the Worker: the compiled Postgres parser is bundled as a
 * WebAssembly module and instantiated once per isolate, on first use (or ahead of it with
 * `loadSqlClassifier`). Policy and the SQL protocols import from here; Node code (the
 * benchmark) uses `classify.ts` with a parser of its own.
 */
import pgQueryWasm from 'libpg-query/wasm/libpg-query.wasm'
import type { Classification } from './classes.ts'
import { type ClassifyOptions, classifyWith, failClosed, MAX_SQL_CHARS } from './classify.ts'
import { instantiatePgQuery, type PgParseOutcome, type PgQuery } from './pg-query.ts'

export type { Classification, SqlClass, StatementInfo } from './classes.ts'
export { riskier, SQL_CLASS_RISK } from './classes.ts'
export type { ClassifyOptions } from './classify.ts'
export { MAX_SQL_CHARS } from './classify.ts'
export type { PgParseOutcome } from './pg-query.ts'

let loading: Promise<PgQuery> | undefined
let loaded: PgQuery | undefined

/** Instantiates the parser (a few milliseconds, once per isolate); safe to call repeatedly. */
export function loadSqlClassifier(): Promise<void> {
  loading ??= instantiatePgQuery(pgQueryWasm).then(
    (parser) => {
      loaded = rememberingRecentParses(parser)
      return loaded
    },
    (error: unknown) => {
      loading = undefined
      throw error
    }
  )
  return loading.then(() => undefined)
}

/**
 * Classifies a (possibly multi-statement) SQL string. Never throws: unparseable input, and
 * a parser that cannot be loaded, give one statement of class `unknown`.
 */
export async function classifySql(sql: string, options?: ClassifyOptions): Promise<Classification> {
  try {
    await loadSqlClassifier()
  } catch (error) {
    return failClosed(sql, `SQL parser unavailable: ${(error as Error).message}`)
  }
  return classifySqlSync(sql, options)
}

/**
 * The same, synchronously, once `loadSqlClassifier()` has resolved; before that every input
 * is `unknown` (fail closed, never a throw).
 */
export function classifySqlSync(sql: string, options?: ClassifyOptions): Classification {
  const parser = loaded
  if (!parser) return failClosed(sql, 'SQL parser not loaded')
  const result = classifyWith(parser, sql, options)
  dropIfUnhealthy(parser)
  return result
}

/**
 * Parses a (possibly multi-statement) SQL string into libpg_query's tree, for analyses that
 * read the tree themselves (masking's column lineage). Never throws: a parser that cannot be
 * loaded, or fails, gives `ok: false`.
 */
export async function parseSql(sql: string): Promise<PgParseOutcome> {
  try {
    await loadSqlClassifier()
  } catch (error) {
    return { ok: false, message: `SQL parser unavailable: ${(error as Error).message}` }
  }
  return parseSqlSync(sql)
}

/** The same, synchronously, once `loadSqlClassifier()` has resolved; before that, `ok: false`. */
export function parseSqlSync(sql: string): PgParseOutcome {
  const parser = loaded
  if (!parser) return { ok: false, message: 'SQL parser not loaded' }
  if (sql.length > MAX_SQL_CHARS)
    return { ok: false, message: `SQL longer than ${MAX_SQL_CHARS} characters is not parsed` }
  try {
    return parser.parse(sql)
  } catch (error) {
    return { ok: false, message: `SQL could not be parsed: ${(error as Error).message}` }
  } finally {
    dropIfUnhealthy(parser)
  }
}

/** Parses remembered, at most, and the longest SQL worth remembering. */
const RECENT_PARSES = 8
const REMEMBERED_SQL_CHARS = 64 * 1024

/**
 * The parser with its last few outcomes remembered by text: masking traces the lineage of
 * a statement the classifier parsed moments before, and reads the same (unmodified) tree
 * instead of parsing it again.
 */
function rememberingRecentParses(parser: PgQuery): PgQuery {
  const recent = new Map<string, PgParseOutcome>()
  return {
    parse(sql) {
      const remembered = recent.get(sql)
      if (remembered) return remembered
      const outcome = parser.parse(sql)
      if (sql.length <= REMEMBERED_SQL_CHARS) {
        if (recent.size >= RECENT_PARSES) recent.delete(recent.keys().next().value as string)
        recent.set(sql, outcome)
      }
      return outcome
    },
    get healthy() {
      return parser.healthy
    },
  }
}

/** Start afresh on the next call rather than trust a parser that failed half-way. */
function dropIfUnhealthy(parser: PgQuery): void {
  if (parser.healthy || loaded !== parser) return
  loaded = undefined
  loading = undefined
}
