/**
 * Masks a UTF-8 text body as it streams: never the whole body in memory, and the same
 * output as masking the whole text at once, however the bytes are chunked. A tail of the
 * longest possible match is held back so a value cut by a chunk boundary is still found,
 * and a bit of already-sent text is kept as context for the detectors that look behind.
 */
import { MATCH_CONTEXT_CHARS } from './detectors/find-sensitive.ts'
import type { MaskTally, TextMasker } from './types.ts'

/** Enough for the longest match (MAX_MATCH_CHARS: a PEM key of 8192 bits) and what follows it. */
export const DEFAULT_MAX_MATCH_CHARS = 16_384
/** How many tails of unsent text are gathered before a scan. */
const SCAN_TAILS = 5

export type MaskTextStreamOptions = {
  /**
   * Characters held back at the tail: matches longer than this may be missed when a chunk
   * boundary cuts them. Defaults to DEFAULT_MAX_MATCH_CHARS, which covers every detector;
   * smaller values are for tests.
   */
  maxMatchChars?: number
  /**
   * A separator between independent records (`\n\n` between Server-Sent Events): text up
   * to its last occurrence is masked and sent at once instead of waiting for the tail,
   * so a live stream is not delayed. Matches never span it.
   */
  flushAfter?: string
}

/**
 * `body` with every detector match masked by `masker`, counted into `tally`. Invalid UTF-8
 * becomes U+FFFD (WHATWG Encoding). An inactive masker returns `body` itself.
 */
export function maskTextStream(
  body: ReadableStream<Uint8Array>,
  masker: TextMasker,
  tally: MaskTally,
  options: MaskTextStreamOptions = {}
): ReadableStream<Uint8Array> {
  if (!masker.active) return body
  const maskWindow = masker.maskWindow?.bind(masker)
  if (!maskWindow) throw new TypeError('this text masker cannot mask streams (no maskWindow)')
  const holdBack = Math.max(1, options.maxMatchChars ?? DEFAULT_MAX_MATCH_CHARS)
  // Each scan covers the held-back tail again: scanning 5x the tail to send 4x keeps that to 25%.
  const scanChars = holdBack * SCAN_TAILS
  // ignoreBOM keeps a byte order mark in the text, so it is sent on as it came.
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  const encoder = new TextEncoder()
  // `pending` = context (already sent) + text not yet sent, which starts at `sentUpTo`.
  let pending = ''
  let sentUpTo = 0
  // Scanning again before another `holdBack` characters arrived would find the same cut.
  let scanAt = 0

  const emit = (controller: TransformStreamDefaultController<Uint8Array>, until: number) => {
    const { masked, end } = maskWindow(pending, sentUpTo, until, tally)
    if (masked.length > 0) controller.enqueue(encoder.encode(masked))
    const keepFrom = Math.max(0, end - MATCH_CONTEXT_CHARS)
    pending = pending.slice(keepFrom)
    sentUpTo = end - keepFrom
  }

  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true })
        const separator = options.flushAfter
        const last = separator ? pending.lastIndexOf(separator) : -1
        if (separator && last >= sentUpTo) {
          emit(controller, last + separator.length)
          scanAt = 0
          return
        }
        if (pending.length - sentUpTo < scanChars || pending.length < scanAt) return
        let until = pending.length - holdBack
        // Never cut a surrogate pair: the encoder would turn each half into U+FFFD.
        if (isHighSurrogate(pending.charCodeAt(until - 1))) until--
        emit(controller, until)
        scanAt = pending.length + holdBack
      },
      flush(controller) {
        pending += decoder.decode()
        emit(controller, pending.length)
      },
    })
  )
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}
