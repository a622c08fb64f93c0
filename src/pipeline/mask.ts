/**
 * The mask stage: response data passes through a masker before it reaches the caller or
 * the transcript. Protocol adapters apply it to what they return; which rules it applies
 * is decided by policy.
 */

export interface BodyMasker {
  /** Whether this masker can change bytes (adapters may skip the stream copy when not). */
  readonly active: boolean
  mask(body: ReadableStream<Uint8Array>, contentType: string | null): ReadableStream<Uint8Array>
}

/** No masking rules apply: bytes pass through untouched. */
export const UNMASKED: BodyMasker = {
  active: false,
  mask: (body) => body,
}
