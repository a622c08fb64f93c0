/**
 * The parser's binary as wrangler bundles it and workerd loads it: `.wasm` imports are
 * compiled modules (Worker-side only; Node code compiles the file itself).
 */
declare module 'libpg-query/wasm/libpg-query.wasm' {
  const pgQueryWasm: WebAssembly.Module
  export default pgQueryWasm
}
