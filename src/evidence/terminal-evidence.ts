/**
 * Terminal recordings as evidence: each asciicast part in R2 is named, with its SHA-256, by
 * a `terminal` event of the session's hash-chained transcript, so a transcript that
 * verifies vouches for every part. Shared by the console (R2's own digests) and
 * `gatehouse verify` (digests it computes from the bytes it downloads).
 */

/** The parts each `terminal` event of the transcript names: key → SHA-256 (hex). */
export function recordedParts(lines: readonly string[]): Map<string, string> {
  const parts = new Map<string, string>()
  for (const line of lines) {
    if (!line.includes('"type":"terminal"')) continue
    try {
      const event = JSON.parse(line) as {
        type?: unknown
        data?: { key?: unknown; sha256?: unknown }
      }
      const { key, sha256 } = event.data ?? {}
      if (event.type === 'terminal' && typeof key === 'string' && typeof sha256 === 'string') {
        parts.set(key, sha256)
      }
    } catch {
      // An unreadable line is the transcript verdict's business, not this check's.
    }
  }
  return parts
}

export type StoredPart = { key: string; terminal: number; part: number; sha256?: string }

export type TerminalEvidence = {
  /** Parts the transcript names. */
  recorded: number
  /** Parts stored whose digest is the transcript's. */
  verified: number
  /** `terminal 0 part 3 was altered`, … in terminal and part order. */
  problems: string[]
}

/**
 * Every stored part must be one the transcript names, with the same digest, and every
 * part the transcript names must be stored: all of them, with no size bound.
 */
export function checkTerminalParts(
  stored: readonly StoredPart[],
  recorded: ReadonlyMap<string, string>
): TerminalEvidence {
  const problems: { order: [number, number]; text: string }[] = []
  const seen = new Set<string>()
  let verified = 0
  for (const part of stored) {
    seen.add(part.key)
    const name = `terminal ${part.terminal} part ${part.part}`
    const expected = recorded.get(part.key)
    const order: [number, number] = [part.terminal, part.part]
    if (expected === undefined) problems.push({ order, text: `${name} is not in the transcript` })
    else if (part.sha256 !== expected) problems.push({ order, text: `${name} was altered` })
    else verified++
  }
  for (const key of recorded.keys()) {
    if (seen.has(key)) continue
    const [terminal = -1, part = -1] = (/terminal-(\d+)\/(\d+)\.cast$/.exec(key) ?? [])
      .slice(1)
      .map(Number)
    problems.push({
      order: [terminal, part],
      text: `terminal ${terminal} part ${part} is in the transcript but missing`,
    })
  }
  problems.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1])
  return { recorded: recorded.size, verified, problems: problems.map((problem) => problem.text) }
}
