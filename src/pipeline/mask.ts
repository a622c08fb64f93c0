/**
 * The mask stage: response data passes through a masker before it reaches the caller or
 * the transcript. Protocol adapters apply it to what they return; which rules it applies
 * is decided by policy.
 */

/** A body as it leaves the masker, with the headers that now describe it. */
export type MaskedBody = { body: ReadableStream<Uint8Array>; headers: Headers }

export interface BodyMasker {
  /** Whether this masker can change bytes (adapters may skip the stream copy when not). */
  readonly active: boolean
  /**
   * Adjusts the headers of the request toward the origin so its answer can be masked:
   * only content codings the masker decodes, and no byte ranges (a fragment could split a
   * value the detectors would otherwise see whole).
   */
  requestHeaders?(headers: Headers): void
  /**
   * Masks a response body. An active masker gets the bytes exactly as the origin encoded
   * them (adapters fetch with `encodeResponseBody: 'manual'`), and the caller-bound
   * response headers; it returns the body and headers to send. Throws a GatehouseError,
   * having cancelled `body`, when the body cannot be masked at all.
   */
  mask(body: ReadableStream<Uint8Array>, headers: Headers): MaskedBody
}

/** No masking rules apply: bytes pass through untouched. */
export const UNMASKED: BodyMasker = {
  active: false,
  mask: (body, headers) => ({ body, headers }),
}
