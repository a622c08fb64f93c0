/**
 * The transcript hash chain. An event's hash is SHA-256 over its exact NDJSON line
 * (UTF-8, no trailing newline), so verification never depends on re-serialising JSON.
 */
import { sha256Hex } from '../encoding.ts'
import { type PendingEvent, TRANSCRIPT_VERSION, TranscriptEvent } from './event.ts'

/** Lowercase hex SHA-256 of a transcript line. */
export function hashLine(line: string): Promise<string> {
  return sha256Hex(line)
}

/**
 * Serialises events as transcript lines, each naming the hash of the line before it
 * (the first names `prev`). Returns the lines and the new chain head.
 */
export async function chainEvents(
  sessionId: string,
  prev: string | null,
  events: readonly PendingEvent[]
): Promise<{ lines: string[]; lastHash: string | null }> {
  const lines: string[] = []
  let head = prev
  for (const event of events) {
    const line = JSON.stringify({
      v: TRANSCRIPT_VERSION,
      sid: sessionId,
      seq: event.seq,
      at: event.at,
      type: event.type,
      prev: head,
      data: event.data,
    })
    lines.push(line)
    head = await hashLine(line)
  }
  return { lines, lastHash: head }
}

export type ChainVerdict =
  | { intact: true; events: number; lastHash: string | null }
  | {
      intact: false
      events: number
      /** Zero-based index of the first line that does not fit the chain. */
      brokenAt: number
      problem: 'unparseable' | 'wrong_session' | 'seq_gap' | 'prev_mismatch'
    }

/**
 * Checks that lines form one unbroken chain for `sessionId`: each parses, has the next
 * `seq`, and names the previous line's hash (the first names `null`).
 */
export async function verifyChain(
  sessionId: string,
  lines: readonly string[]
): Promise<ChainVerdict> {
  let prev: string | null = null
  for (const [index, line] of lines.entries()) {
    let event: TranscriptEvent
    try {
      event = TranscriptEvent.parse(JSON.parse(line))
    } catch {
      return { intact: false, events: lines.length, brokenAt: index, problem: 'unparseable' }
    }
    if (event.sid !== sessionId) {
      return { intact: false, events: lines.length, brokenAt: index, problem: 'wrong_session' }
    }
    if (event.seq !== index) {
      return { intact: false, events: lines.length, brokenAt: index, problem: 'seq_gap' }
    }
    if (event.prev !== prev) {
      return { intact: false, events: lines.length, brokenAt: index, problem: 'prev_mismatch' }
    }
    prev = await hashLine(line)
  }
  return { intact: true, events: lines.length, lastHash: prev }
}
