/**
 * Types for the Emscripten factory of libpg-query's WebAssembly build, which the SQL
 * classifier loads directly: the package's own entry point starts loading the binary from
 * disk or network as soon as it is imported, which neither works nor is wanted in a Worker.
 * Kept free of the `WebAssembly` namespace so Node-side programs (bench/) need no DOM lib.
 */

declare module 'libpg-query/wasm/libpg-query.js' {
  /** The Emscripten runtime, reduced to what `pg-query.ts` calls. */
  export type PgQueryRuntime = {
    _malloc(bytes: number): number
    _free(pointer: number): void
    _wasm_parse_query_raw(queryPointer: number): number
    _wasm_free_parse_result(resultPointer: number): void
    getValue(pointer: number, type: 'i32'): number
    HEAPU8: Uint8Array
  }
  export type PgQueryModuleOptions = {
    /** Emscripten's hook for supplying the instance itself (a `WebAssembly.Instance`). */
    instantiateWasm(imports: object, receive: (instance: object, module: object) => void): object
    print?(text: string): void
    printErr?(text: string): void
  }
  const createPgQueryModule: (options: PgQueryModuleOptions) => Promise<PgQueryRuntime>
  export default createPgQueryModule
}
