/**
 * Terminal recordings for the console's player: which terminals a session recorded, and
 * one terminal's asciicast v2 file, streamed from its parts in R2 (`<prefix>terminal-<n>/
 * 000000.cast`, …; part 0 starts with the header line, and the parts in key order are one
 * file). Streaming keeps the Worker's memory flat; a size bound keeps a browser from being
 * handed a recording it cannot hold.
 */
import { listTerminalParts, type TerminalPart } from '../recorder/terminal-parts.ts'
import { TERMINAL_PREFIX, terminalPrefix } from '../recorder/transcript-keys.ts'

/** Most the player is served of one terminal; a longer one is cut at a part boundary. */
export const MAX_TERMINAL_CAST_BYTES = 64 * 1024 * 1024
/** Parts requested from R2 before the client reaches them. */
const READ_AHEAD_PARTS = 4

/** One recorded terminal: its number, its contiguous parts from part 0, and their size. */
export type TerminalRecording = {
  terminal: number
  parts: TerminalPart[]
  bytes: number
  /** Parts beyond a gap, or beyond MAX_TERMINAL_CAST_BYTES, that the player is not served. */
  omittedParts: number
}

/** The terminals recorded under a session's transcript prefix, by number. */
export async function listTerminalRecordings(
  bucket: R2Bucket,
  prefix: string
): Promise<TerminalRecording[]> {
  return recordingsFrom(await listTerminalParts(bucket, `${prefix}${TERMINAL_PREFIX}`, prefix))
}

/** One terminal's recording, or undefined when it has no part 0. */
export async function findTerminalRecording(
  bucket: R2Bucket,
  prefix: string,
  terminal: number
): Promise<TerminalRecording | undefined> {
  const parts = await listTerminalParts(bucket, terminalPrefix(prefix, terminal), prefix)
  return recordingsFrom(parts).find((recording) => recording.terminal === terminal)
}

/**
 * The recording's parts concatenated, read as the client pulls with a few parts fetched
 * ahead (a long session has hundreds of 64 KiB parts). A part that vanished meanwhile
 * (retention) ends the stream with an error rather than a file with a hole in it.
 */
export function terminalCastStream(
  bucket: R2Bucket,
  recording: TerminalRecording
): ReadableStream<Uint8Array> {
  const keys = recording.parts.map((part) => part.key)
  const ahead: { key: string; object: Promise<R2ObjectBody | null> }[] = []
  const fetchAhead = () => {
    while (ahead.length < READ_AHEAD_PARTS && keys.length > 0) {
      const key = keys.shift() as string
      const object = bucket.get(key)
      object.catch(() => {}) // read (and reported) when its turn comes, or dropped on cancel
      ahead.push({ key, object })
    }
  }
  let current: ReadableStreamDefaultReader<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          fetchAhead()
          const next = ahead.shift()
          if (!next) return controller.close()
          const object = await next.object
          if (!object) throw new Error(`terminal recording part ${next.key} is gone`)
          current = object.body.getReader()
        }
        const { done, value } = await current.read()
        if (!done) return controller.enqueue(value)
        current = undefined
      }
    },
    async cancel(reason) {
      await current?.cancel(reason)
      for (const { object } of ahead.splice(0)) {
        void object.then((body) => body?.body.cancel()).catch(() => {})
      }
    },
  })
}

/** Groups parts by terminal, keeping each one's contiguous run from part 0 within the bound. */
function recordingsFrom(parts: TerminalPart[]): TerminalRecording[] {
  const byTerminal = new Map<number, TerminalPart[]>()
  for (const part of parts) {
    const list = byTerminal.get(part.terminal) ?? []
    list.push(part)
    byTerminal.set(part.terminal, list)
  }
  const recordings: TerminalRecording[] = []
  for (const [terminal, list] of byTerminal) {
    list.sort((a, b) => a.part - b.part)
    const served: TerminalPart[] = []
    let bytes = 0
    for (const part of list) {
      if (part.part !== served.length || bytes + part.size > MAX_TERMINAL_CAST_BYTES) break
      served.push(part)
      bytes += part.size
    }
    if (served.length === 0) continue
    recordings.push({ terminal, parts: served, bytes, omittedParts: list.length - served.length })
  }
  return recordings.sort((a, b) => a.terminal - b.terminal)
}
