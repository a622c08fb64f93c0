/**
 * The real PostgreSQL 15 parser (libpg_query, compiled to WebAssembly by the `libpg-query`
 * package), driven directly: the package's own entry point loads its binary from disk or the
 * network, which a Worker cannot do, so the compiled module is handed in instead. Input goes
 * in as UTF-8 and the parse tree comes back as libpg_query's JSON; statement locations in
 * it are byte offsets into that UTF-8.
 */

/// <reference path="./pg-query-module.d.ts" />
import type { ParseResult } from 'libpg-query'
import createPgQueryModule, { type PgQueryRuntime } from 'libpg-query/wasm/libpg-query.js'

/** The outcome of parsing one SQL string: the raw statement list, or Postgres' own error. */
export type PgParseOutcome =
  | { ok: true; tree: ParseResult }
  | {
      ok: false
      /** The parser's message, e.g. `syntax error at or near "SELEC"`. */
      message: string
      /**
       * Where the error is, as Postgres reports it (ErrorResponse field P): a one-based
       * count of characters, not bytes. Absent when the parser gave none.
       */
      position?: number
    }

/** A ready parser instance. Synchronous: one call is one trip into WebAssembly. */
export type PgQuery = {
  /** Parses; throws only when the WebAssembly side failed (a trap, stack or heap exhausted). */
  parse(sql: string): PgParseOutcome
  /**
   * False once a parse has thrown: the C side may have been left mid-way (memory held,
   * globals half-set), so the owner should drop this instance and instantiate another.
   */
  readonly healthy: boolean
}

/**
 * The two WebAssembly constructors used, declared here rather than taken from a lib so that
 * Node-side programs (bench/) compile this file without the DOM types.
 */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => object
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** Compiles `libpg-query.wasm` from its bytes, where no bundler did (Node). */
export function compilePgQueryWasm(bytes: Uint8Array): object {
  return new WebAssembly.Module(bytes)
}

/**
 * Instantiates the parser from the compiled `libpg-query.wasm` module (a
 * `WebAssembly.Module`). Takes a few milliseconds, so callers keep one instance per isolate.
 */
export async function instantiatePgQuery(wasm: object): Promise<PgQuery> {
  const runtime = await withScriptLocation(() =>
    createPgQueryModule({
      instantiateWasm(imports, receive) {
        receive(new WebAssembly.Instance(wasm, imports), wasm)
        return {}
      },
      // The parser writes nothing worth keeping to stdout/stderr; never let it reach the log.
      print() {},
      printErr() {},
    })
  )
  let healthy = true
  return {
    parse(sql) {
      try {
        return parseWith(runtime, sql)
      } catch (error) {
        healthy = false
        throw error
      }
    },
    get healthy() {
      return healthy
    },
  }
}

/**
 * Emscripten's glue works out where its script lives before anything else, from
 * `__filename` if defined, else `self.location.href` under a worker, and workerd has
 * neither (with nodejs_compat it also takes the Node path, which reads `__dirname`). The
 * values are never used, since the binary is handed over, so provide placeholders for the
 * factory's synchronous prologue and take them away again.
 */
function withScriptLocation<T>(start: () => T): T {
  const names = ['__filename', '__dirname'] as const
  const saved = names.map((name) => Object.getOwnPropertyDescriptor(globalThis, name))
  for (const name of names)
    if (!(name in globalThis)) Reflect.set(globalThis, name, `/libpg-query/${name}`)
  try {
    return start()
  } finally {
    names.forEach((name, index) => {
      const descriptor = saved[index]
      if (descriptor) Object.defineProperty(globalThis, name, descriptor)
      else Reflect.deleteProperty(globalThis, name)
    })
  }
}

function parseWith(runtime: PgQueryRuntime, sql: string): PgParseOutcome {
  // The C entry point refuses an empty string; to Postgres it is an empty statement list.
  if (sql === '') return { ok: true, tree: { stmts: [] } }
  // C would stop reading at a NUL, and so does the wire protocol: what follows is not SQL.
  const nul = sql.indexOf('\0')
  if (nul >= 0)
    return {
      ok: false,
      message: 'NUL byte in SQL',
      position: Array.from(sql.slice(0, nul)).length + 1,
    }
  // Room for the worst case of UTF-16 to UTF-8 growth, plus the C string's terminator.
  const capacity = sql.length * 3 + 1
  const queryPointer = runtime._malloc(capacity)
  if (!queryPointer) throw new Error('libpg_query: out of memory')
  let resultPointer = 0
  try {
    const { written } = utf8Encoder.encodeInto(
      sql,
      runtime.HEAPU8.subarray(queryPointer, queryPointer + capacity - 1)
    )
    runtime.HEAPU8[queryPointer + written] = 0
    resultPointer = runtime._wasm_parse_query_raw(queryPointer)
    if (!resultPointer) throw new Error('libpg_query: out of memory')
    // struct PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error }
    const treePointer = runtime.getValue(resultPointer, 'i32')
    const errorPointer = runtime.getValue(resultPointer + 8, 'i32')
    if (errorPointer) {
      // struct PgQueryError { char *message; char *funcname; char *filename; int lineno;
      //                       int cursorpos; char *context }, cursorpos as errposition().
      const messagePointer = runtime.getValue(errorPointer, 'i32')
      const cursor = runtime.getValue(errorPointer + 16, 'i32')
      return {
        ok: false,
        message: messagePointer ? readCString(runtime, messagePointer) : 'unknown parse error',
        ...(cursor > 0 ? { position: cursor } : {}),
      }
    }
    if (!treePointer) throw new Error('libpg_query: neither a parse tree nor an error')
    return { ok: true, tree: JSON.parse(readCString(runtime, treePointer)) as ParseResult }
  } finally {
    runtime._free(queryPointer)
    if (resultPointer) runtime._wasm_free_parse_result(resultPointer)
  }
}

function readCString(runtime: PgQueryRuntime, pointer: number): string {
  const heap = runtime.HEAPU8
  const end = heap.indexOf(0, pointer)
  return utf8Decoder.decode(heap.subarray(pointer, end < 0 ? heap.length : end))
}
