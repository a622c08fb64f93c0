/**
 * SQL classification for the Worker: the compiled Postgres parser is bundled as a
 * WebAssembly module and instantiated once per isolate, on first use (or ahead of it with
 * `loadSqlClassifier`). Policy and the SQL protocols import from here; Node code (the
 * benchmark) uses `classify.ts` with a parser of its own.
 */
import pgQueryWasm from 'libpg-query/wasm/libpg-query.wasm'
import type { Classification } from './classes.ts'
import { type ClassifyOptions, classifyWith, failClosed } from './classify.ts'
import { instantiatePgQuery, type PgQuery } from './pg-query.ts'

export type { Classification, SqlClass, StatementInfo } from './classes.ts'
export { riskier, SQL_CLASS_RISK } from './classes.ts'
export type { ClassifyOptions } from './classify.ts'
export { MAX_SQL_CHARS } from './classify.ts'

let loading: Promise<PgQuery> | undefined
let loaded: PgQuery | undefined

/** Instantiates the parser (a few milliseconds, once per isolate); safe to call repeatedly. */
export function loadSqlClassifier(): Promise<void> {
  loading ??= instantiatePgQuery(pgQueryWasm).then(
    (parser) => {
      loaded = parser
      return parser
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
  if (!parser.healthy) {
    // Start afresh on the next call rather than trust a parser that failed half-way.
    loaded = undefined
    loading = undefined
  }
  return result
}
