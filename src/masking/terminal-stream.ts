/**
 * Masks a live terminal's output. Complete lines are masked and sent at once; a partial
 * line (a prompt, a progress bar) is held only until the output pauses for a moment, then
 * masked and sent as it is — a terminal cannot wait for the rest of a line the way a
 * response body can (text-stream.ts). The cost: a value cut by such a pause is masked in
 * two pieces, which the detectors may not recognise.
 */
import type { MaskTally, TextMasker } from './types.ts'

/** How long a partial line waits for more output before it is sent. */
export const TERMINAL_IDLE_MS = 15
/** A partial line longer than this is sent without waiting. */
const MAX_PARTIAL_CHARS = 4096

export function maskTerminalStream(
  masker: TextMasker,
  tally: MaskTally,
  idleMs = TERMINAL_IDLE_MS
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  const encoder = new TextEncoder()
  let partial = ''
  let timer: ReturnType<typeof setTimeout> | undefined
  let output: TransformStreamDefaultController<Uint8Array> | undefined
  const send = (text: string) => {
    if (text) output?.enqueue(encoder.encode(masker.mask(text, tally)))
  }
  const flushPartial = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const text = partial
    partial = ''
    try {
      send(text)
    } catch {
      // The stream closed meanwhile: nothing is left to send it to.
    }
  }
  return new TransformStream({
    start(controller) {
      output = controller
    },
    transform(chunk) {
      partial += decoder.decode(chunk, { stream: true })
      const end = Math.max(partial.lastIndexOf('\n'), partial.lastIndexOf('\r'))
      if (end >= 0) {
        const lines = partial.slice(0, end + 1)
        partial = partial.slice(end + 1)
        send(lines)
      }
      if (partial.length > MAX_PARTIAL_CHARS) flushPartial()
      else if (partial) {
        if (timer !== undefined) clearTimeout(timer)
        timer = setTimeout(flushPartial, idleMs)
      }
    },
    flush() {
      partial += decoder.decode()
      flushPartial()
    },
  })
}
