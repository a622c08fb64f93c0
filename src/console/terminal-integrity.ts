/**
 * Whether a terminal recording is the one the session recorded: every part the player is
 * served must be named, with its SHA-256, by a `terminal` event of the hash-chained
 * transcript, and R2's own digest of the part (computed when it was written) must be that
 * one. Parts the transcript names but R2 lacks are reported too. No part is read back.
 */
import type { TerminalRecording } from './terminal-recording.ts'

export type RecordingCheck = {
  /** Parts whose digest matches the transcript's. */
  verified: number
  problems: string[]
}

export function checkRecording(
  recording: TerminalRecording,
  recorded: ReadonlyMap<string, string>,
  terminalPrefix: string
): RecordingCheck {
  const problems: string[] = []
  let verified = 0
  const served = new Set<string>()
  for (const part of recording.parts) {
    served.add(part.key)
    const expected = recorded.get(part.key)
    if (expected === undefined) problems.push(`part ${part.part} is not in the transcript`)
    else if (part.sha256 !== expected) problems.push(`part ${part.part} was altered`)
    else verified++
  }
  const last = recording.parts.at(-1)?.part ?? -1
  for (const key of recorded.keys()) {
    if (!key.startsWith(terminalPrefix) || served.has(key)) continue
    // Parts past what the player is served (a size bound) are not missing.
    const part = Number(key.slice(terminalPrefix.length, -'.cast'.length))
    if (recording.omittedParts === 0 || part <= last) {
      problems.push(`part ${part} is in the transcript but missing`)
    }
  }
  return { verified, problems }
}
