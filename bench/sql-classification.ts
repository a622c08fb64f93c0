/**
 * SQL classification time: the real Postgres parser in WebAssembly plus the classifier's
 * rules, for typical OLTP statements (pgbench's and an INSERT … RETURNING). Runs in Node on
 * the same V8 engine as workerd, which offers no sub-millisecond clock; each
 * classification is timed on its own. Also reports what a cold isolate pays once: compiling
 * the module (workerd does this when the script loads) and instantiating it.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { classifyWith } from '../src/policy/sql/classify.ts'
import { compilePgQueryWasm, instantiatePgQuery } from '../src/policy/sql/pg-query.ts'
import { timeEach } from './stats.ts'

const WARMUP = 20_000
const SAMPLES = 100_000

/** pgbench's TPC-B-like transaction and select-only script, plus a typical API insert. */
export const OLTP_STATEMENTS = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = $1',
  'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
  'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2',
  'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)',
  'INSERT INTO orders (customer_id, total, note) VALUES ($1, $2, $3) RETURNING id, created_at',
]

export type SqlClassificationResult = {
  samples: number
  p50Micros: number
  p99Micros: number
  maxMicros: number
  /** Size of the parser's WebAssembly binary, as bundled. */
  wasmBytes: number
  /** Compiling the binary to a WebAssembly.Module. */
  compileMillis: number
  /** Instantiating it and starting the Emscripten runtime: once per isolate. */
  instantiateMillis: number
}

export async function benchSqlClassification(): Promise<SqlClassificationResult> {
  const wasmPath = createRequire(import.meta.url).resolve('libpg-query/wasm/libpg-query.wasm')
  const bytes = await readFile(wasmPath)
  const compileStart = performance.now()
  const module = compilePgQueryWasm(bytes)
  const compileMillis = performance.now() - compileStart
  const instantiateStart = performance.now()
  const parser = await instantiatePgQuery(module)
  const instantiateMillis = performance.now() - instantiateStart

  let sink = 0
  const once = (index: number) => {
    const sql = OLTP_STATEMENTS[index % OLTP_STATEMENTS.length] as string
    const result = classifyWith(parser, sql)
    if (!result.ok) throw new Error(`bench statement did not parse: ${sql}`)
    sink += result.statements.length
  }
  const timing = timeEach(once, SAMPLES, WARMUP)
  // Read the sink, so the work being timed cannot be optimised away.
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink)
  return {
    samples: SAMPLES,
    ...timing,
    wasmBytes: bytes.length,
    compileMillis: round(compileMillis),
    instantiateMillis: round(instantiateMillis),
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
