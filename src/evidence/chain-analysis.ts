/**
 * Where a transcript departs from one unbroken chain: each line is read, placed at the
 * event it stands for, and every gap, duplicate, move and broken link is reported as the
 * fewest changes that explain it. Pure functions over the lines and their hashes.
 */
import { TranscriptEvent } from '../recorder/event.ts'
import type { Manifest } from './manifest.ts'
import type { Problem } from './verify-transcript.ts'

/**
 * A recomputed SHA-256 differs from the old one in about 60 of its 64 hex digits; a `prev`
 * this close to the real hash was itself edited (a flipped byte), not left behind.
 */
const EDITED_PREV_MAX_DIGITS = 8

/** One transcript line as the analysis sees it. */
export type Entry = {
  index: number
  hash: string
  /** Parsed, and of this session. */
  event: TranscriptEvent | undefined
  /** The event this line stands for: its own `seq`, or inferred from its neighbours. */
  seq: number | undefined
  /** Already reported as a problem of its own, so its links prove nothing more. */
  flaw: Omit<Problem, 'seq' | 'index'> | undefined
}

/** Parses one line; a line that is not an event of this session gets its flaw. */
export function readEntry(sessionId: string, line: string, index: number, hash: string): Entry {
  const entry: Entry = { index, hash, event: undefined, seq: undefined, flaw: undefined }
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    entry.flaw = { kind: 'unparseable', detail: 'the line is not JSON' }
    return entry
  }
  const parsed = TranscriptEvent.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.join('.') || 'the line'
    entry.flaw = { kind: 'unparseable', detail: `not a transcript event: ${where} is invalid` }
  } else if (parsed.data.sid !== sessionId) {
    entry.flaw = { kind: 'wrong_session', detail: `an event of session ${parsed.data.sid}` }
  } else {
    entry.event = parsed.data
    entry.seq = parsed.data.seq
  }
  return entry
}

/**
 * A line whose `seq` was edited still chains to the line before it and sits between
 * seq a and a+2 (or is the session's last): it is event a+1, modified, not a removal
 * plus a stray event.
 */
export function repairEditedSeqs(entries: Entry[], end: number | undefined): void {
  for (const [index, entry] of entries.entries()) {
    const before = entries[index - 1]
    const after = entries[index + 1]
    if (!entry.event || (index > 0 && !before?.event)) continue
    const expected = before ? (before.seq ?? 0) + 1 : 0
    const chained = entry.event.prev === (before ? before.hash : null)
    const fits = after ? after.event?.seq === expected + 1 : expected + 1 === end
    if (entry.event.seq !== expected && fits && chained) {
      entry.flaw = {
        kind: 'modified',
        detail: `its seq field reads ${entry.event.seq}, but it chains to the event before it: it is event seq ${expected}`,
      }
      entry.seq = expected
    }
  }
}

/** An unreadable or foreign line stands for the event its readable neighbours leave room for. */
export function inferSeqs(entries: Entry[]): void {
  for (const [index, entry] of entries.entries()) {
    if (entry.event) continue
    const before = findLast(entries, index, (candidate) => candidate.event !== undefined)
    const after = entries.slice(index + 1).find((candidate) => candidate.event !== undefined)
    const from = before ? (before.seq ?? 0) + (index - before.index) : index
    const fits = !after || (after.seq ?? 0) - from === after.index - index
    if (fits && from >= 0) entry.seq = from
  }
}

function findLast(entries: Entry[], before: number, test: (entry: Entry) => boolean) {
  for (let index = before - 1; index >= 0; index--) {
    const entry = entries[index]
    if (entry && test(entry)) return entry
  }
  return undefined
}

/**
 * Two lines claiming one seq: the chain vouches for at most one (its prev is the event
 * before, and the event after names its hash). The other was inserted.
 */
export function keepOnePerSeq(
  chain: readonly Entry[],
  manifest: Manifest | undefined,
  report: (problem: Problem) => void
): Map<number, Entry> {
  const claims = new Map<number, Entry[]>()
  for (const entry of chain) {
    const seq = entry.seq ?? 0
    claims.set(seq, [...(claims.get(seq) ?? []), entry])
  }
  const vouched = (entry: Entry): number => {
    if (entry.flaw || !entry.event) return -1
    const seq = entry.event.seq
    const before = claims.get(seq - 1) ?? []
    const after = claims.get(seq + 1) ?? []
    const prevOk =
      seq === 0 ? entry.event.prev === null : before.some((b) => b.hash === entry.event?.prev)
    const nextOk =
      after.some((a) => a.event?.prev === entry.hash) ||
      (manifest?.events === seq + 1 && manifest.lastHash === entry.hash)
    return Number(prevOk) + Number(nextOk)
  }
  const kept = new Map<number, Entry>()
  for (const [seq, entries] of claims) {
    let keeper = entries[0] as Entry
    for (const entry of entries.slice(1)) if (vouched(entry) > vouched(keeper)) keeper = entry
    kept.set(seq, keeper)
    for (const entry of entries) {
      if (entry === keeper || entry.flaw) continue
      report({
        kind: 'inserted',
        ...located(entry),
        detail:
          entry.hash === keeper.hash
            ? `a copy of event seq ${seq} (line ${keeper.index + 1})`
            : `a second event seq ${seq} that the chain does not vouch for (line ${keeper.index + 1} is the one it does)`,
      })
    }
  }
  return kept
}

/** Gaps in seq, from 0 to the last event (the manifest's count when there is one). */
export function reportRemoved(
  bySeq: ReadonlyMap<number, Entry>,
  end: number | undefined,
  signed: boolean,
  report: (problem: Problem) => void
): void {
  const seqs = [...bySeq.keys()].sort((a, b) => a - b)
  const last = end ?? (seqs.at(-1) ?? -1) + 1
  let expected = 0
  for (const seq of [...seqs, last]) {
    if (seq > expected) {
      const range =
        seq - expected === 1
          ? `event seq ${expected} is missing`
          : `events seq ${expected} to ${seq - 1} are missing (${seq - expected} events)`
      const where =
        seq === last
          ? expected === 0
            ? ''
            : signed
              ? `, after seq ${expected - 1}: the signed manifest counts ${last} events`
              : `, after seq ${expected - 1}: session.end is seq ${last - 1}`
          : expected === 0
            ? `, before seq ${seq}`
            : `, between seq ${expected - 1} and seq ${seq}`
      report({ kind: 'removed', seq: expected, detail: `${range}${where}` })
    }
    expected = seq + 1
  }
}

/**
 * Lines out of seq order: the longest run already in order stays, and every event outside
 * it is named as moved, so swapping two events names those two and no others.
 */
export function reportReordered(kept: readonly Entry[], report: (problem: Problem) => void): void {
  const seqs = kept.map((entry) => entry.seq ?? 0)
  const inOrder = longestIncreasing(seqs)
  for (const [position, entry] of kept.entries()) {
    if (inOrder.has(position)) continue
    const before = kept[position - 1]?.seq
    const after = kept[position + 1]?.seq
    const where =
      before === undefined
        ? `first, before seq ${after}`
        : after === undefined
          ? `last, after seq ${before}`
          : `between seq ${before} and seq ${after}`
    const belongs = entry.seq === 0 ? 'first' : `after seq ${(entry.seq ?? 0) - 1}`
    report({
      kind: 'reordered',
      ...located(entry),
      detail: `event seq ${entry.seq} stands ${where}; it belongs ${belongs}`,
    })
  }
}

/** Positions of one longest strictly increasing subsequence (patience sorting, O(n log n)). */
function longestIncreasing(values: readonly number[]): Set<number> {
  const tails: number[] = []
  const previous: number[] = []
  for (const [index, value] of values.entries()) {
    let low = 0
    let high = tails.length
    while (low < high) {
      const middle = (low + high) >> 1
      if ((values[tails[middle] ?? 0] ?? 0) < value) low = middle + 1
      else high = middle
    }
    previous[index] = low > 0 ? (tails[low - 1] ?? -1) : -1
    tails[low] = index
  }
  const positions = new Set<number>()
  for (let index = tails.at(-1) ?? -1; index >= 0; index = previous[index] ?? -1) {
    positions.add(index)
  }
  return positions
}

/**
 * Each event's hash must be the `prev` of the event after it (the last one's, the
 * manifest's chain head). A broken link means the earlier event changed, unless the
 * later event's `prev` was itself edited.
 */
export function reportModified(
  bySeq: ReadonlyMap<number, Entry>,
  manifest: Manifest | undefined,
  report: (problem: Problem) => void
): Set<number> {
  const modified = new Map<number, Problem>()
  const mark = (entry: Entry, detail: string) => {
    const seq = entry.seq ?? 0
    if (!modified.has(seq)) modified.set(seq, { kind: 'modified', ...located(entry), detail })
  }
  for (const [seq, entry] of bySeq) {
    if (entry.flaw || !entry.event) continue
    if (seq === 0 && entry.event.prev !== null) {
      mark(entry, 'the first event names a predecessor')
    }
    const next = bySeq.get(seq + 1)
    const prev = next?.event?.prev
    if (next && !next.flaw && prev !== undefined && prev !== entry.hash) {
      if (prev === null || hexDistance(prev, entry.hash) <= EDITED_PREV_MAX_DIGITS) {
        mark(next, `its prev field was edited: it no longer names the hash of seq ${seq}`)
      } else {
        mark(entry, `its hash no longer matches the prev recorded by event seq ${seq + 1}`)
      }
    }
    if (manifest && seq === manifest.events - 1 && entry.hash !== manifest.lastHash) {
      mark(
        entry,
        'its hash is not the chain head the signed manifest records: this event, or the chain up to it, was rewritten'
      )
    }
  }
  for (const problem of modified.values()) report(problem)
  return new Set(modified.keys())
}

/** The `seq` and `index` a problem about this line names. */
export function located(entry: Entry): Pick<Problem, 'seq' | 'index'> {
  return entry.seq === undefined ? { index: entry.index } : { seq: entry.seq, index: entry.index }
}

function hexDistance(a: string, b: string): number {
  let distance = Math.abs(a.length - b.length)
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) distance++
  return distance
}
