/**
 * Counts a command's output as it streams and keeps its first bytes for the transcript
 * (which masks them with every detector before storing). What the caller receives is
 * not changed here.
 */

/** Output kept per stream for the transcript. */
export const TRANSCRIPT_OUTPUT_BYTES = 64 * 1024

export class OutputTap {
  bytes = 0
  #kept: Uint8Array[] = []
  #keptBytes = 0
  readonly stream: TransformStream<Uint8Array, Uint8Array>

  constructor(keep = TRANSCRIPT_OUTPUT_BYTES) {
    this.stream = new TransformStream({
      transform: (chunk, controller) => {
        this.bytes += chunk.length
        if (this.#keptBytes < keep) {
          const part = chunk.subarray(0, keep - this.#keptBytes)
          this.#kept.push(part.slice())
          this.#keptBytes += part.length
        }
        controller.enqueue(chunk)
      },
    })
  }

  /** The kept bytes as text (invalid UTF-8 replaced), and whether more was sent. */
  excerpt(): { text: string; truncated: boolean } {
    const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    let text = ''
    for (const part of this.#kept) text += decoder.decode(part, { stream: true })
    text += decoder.decode()
    return { text, truncated: this.bytes > this.#keptBytes }
  }
}

/**
 * A finished command's outcome summary: how it exited, the bytes of each stream and, unless
 * the output lives elsewhere (a terminal's asciicast), the first bytes of each.
 */
export function commandSummary(
  exit: { exitCode: number | null; signal: string | null },
  stdout: OutputTap,
  stderr: OutputTap,
  keepOutput = true
): Record<string, unknown> {
  const out = stdout.excerpt()
  const err = stderr.excerpt()
  return {
    exitCode: exit.exitCode,
    ...(exit.signal ? { signal: exit.signal } : {}),
    stdoutBytes: stdout.bytes,
    stderrBytes: stderr.bytes,
    ...(keepOutput ? { stdout: out.text, stderr: err.text } : {}),
    ...(keepOutput && (out.truncated || err.truncated) ? { outputTruncated: true } : {}),
  }
}
