/**
 * Masks a JSON (or NDJSON) body as it streams: values at policy paths are replaced, and
 * every other string, number and member name goes through the content detectors. Only
 * the one token being inspected is ever held, so bodies of any size pass in bounded
 * memory; a body that is not JSON stops the stream with a JsonStreamError (nothing from
 * the chunk where it failed, or after, is sent).
 */
import { JsonRewriter, type JsonRewriterOptions } from './json-rewriter.ts'

export { JsonStreamError, MAX_JSON_DEPTH, MAX_JSON_STRING_BYTES } from './json-grammar.ts'
export type { JsonPathMask, JsonRewriterOptions as JsonMaskOptions } from './json-rewriter.ts'

/**
 * Pipes `body` through the JSON rewriter. What is masked, and why, is counted into
 * `options.tally` as bytes flow; the tally is complete when the returned stream ends.
 */
export function maskJsonStream(
  body: ReadableStream<Uint8Array>,
  options: JsonRewriterOptions
): ReadableStream<Uint8Array> {
  const rewriter = new JsonRewriter(options)
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const out = rewriter.write(chunk)
        if (out) controller.enqueue(out)
      },
      flush(controller) {
        const out = rewriter.end()
        if (out) controller.enqueue(out)
      },
    })
  )
}
