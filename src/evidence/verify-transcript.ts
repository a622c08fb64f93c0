/**
 * Verifies a session transcript as evidence. Given its lines, its signed manifest (if any)
 * and the gateway's public keys, it says whether the session is intact, was cut short
 * (incomplete: verified up to its last event), or was tampered with, and then exactly
 * which events were modified, removed, reordered, inserted or appended. No I/O: the
 * Worker and the CLI (Node) run the same checks.
 */
import { TRANSCRIPT_VERSION } from '../recorder/event.ts'
import { hashLine } from '../recorder/hash-chain.ts'
import {
  type Entry,
  inferSeqs,
  keepOnePerSeq,
  located,
  readEntry,
  repairEditedSeqs,
  reportModified,
  reportRemoved,
  reportReordered,
} from './chain-analysis.ts'
import { checkManifest, type Manifest } from './manifest.ts'
import type { SignatureCheck, SigningJwk } from './signing-key.ts'

export type ProblemKind =
  | 'modified'
  | 'removed'
  | 'reordered'
  | 'inserted'
  | 'appended'
  | 'unparseable'
  | 'wrong_session'
  | 'bad_signature'
  | 'manifest_mismatch'

export type Problem = {
  kind: ProblemKind
  /** The event concerned (for `removed`, the first missing one). */
  seq?: number
  /** Zero-based line of the transcript where it was found. */
  index?: number
  detail: string
}

export type TranscriptVerdict = {
  status: 'intact' | 'incomplete' | 'tampered'
  session: string
  /** Lines examined. */
  events: number
  /** Hash of the last line: the chain head as found. */
  lastHash: string | null
  manifest: {
    kid: string | undefined
    signature: SignatureCheck | 'unreadable'
    events?: number
    lastHash?: string
    signedAt?: string
  } | null
  /** For `incomplete`: why the session cannot be shown whole. */
  incomplete?: string
  problems: Problem[]
}

export type TranscriptEvidence = {
  sessionId: string
  /** The transcript's lines, in the order found, without newlines. */
  lines: readonly string[]
  /** The stored manifest line, if there is one. */
  manifest?: string | undefined
  /** Public keys the manifest may be signed with. */
  keys: readonly SigningJwk[]
}

/** Verifies a transcript and its manifest; see TranscriptVerdict. */
export async function verifyTranscript(evidence: TranscriptEvidence): Promise<TranscriptVerdict> {
  const { sessionId, lines } = evidence
  const hashes = await Promise.all(lines.map(hashLine))
  const entries = lines.map((line, index) => readEntry(sessionId, line, index, hashes[index] ?? ''))
  const problems: Problem[] = []
  const report = (problem: Problem) => problems.push(problem)

  const check =
    evidence.manifest === undefined
      ? undefined
      : await checkManifest(evidence.manifest, evidence.keys)
  let manifest = check?.manifest
  if (check && check.signature !== 'valid') {
    report({ kind: 'bad_signature', detail: SIGNATURE_PROBLEMS[check.signature] })
  } else if (check?.invalid) {
    report({ kind: 'manifest_mismatch', detail: `the signed manifest ${check.invalid}` })
  } else if (manifest && manifest.session !== sessionId) {
    report({
      kind: 'manifest_mismatch',
      detail: `the manifest is signed for session ${manifest.session}`,
    })
    manifest = undefined
  }

  const sessionEnd = entries.find((entry) => entry.event?.type === 'session.end')
  const end = manifest ? manifest.events : sessionEnd ? (sessionEnd.seq ?? 0) + 1 : undefined
  repairEditedSeqs(entries, end)
  inferSeqs(entries)
  for (const entry of entries) {
    if (entry.flaw) report({ ...entry.flaw, ...located(entry) })
  }

  const chain: Entry[] = []
  for (const entry of entries) {
    if (entry.seq === undefined) continue
    if (end !== undefined && entry.seq >= end) {
      if (!entry.flaw) {
        report({
          kind: 'appended',
          ...located(entry),
          detail: manifest
            ? `event seq ${entry.seq} was added after the session closed: the signed manifest counts ${end} events`
            : `event seq ${entry.seq} comes after session.end (seq ${end - 1})`,
        })
      }
      continue
    }
    chain.push(entry)
  }

  const bySeq = keepOnePerSeq(chain, manifest, report)
  reportRemoved(bySeq, end, manifest !== undefined, report)
  reportReordered(
    chain.filter((entry) => bySeq.get(entry.seq ?? -1) === entry),
    report
  )
  const modified = reportModified(bySeq, manifest, report)
  if (manifest) reportManifestMismatches(manifest, bySeq, modified, report)

  problems.sort((a, b) => orderOf(a) - orderOf(b))
  const verdict: TranscriptVerdict = {
    status: problems.length ? 'tampered' : manifest ? 'intact' : 'incomplete',
    session: sessionId,
    events: lines.length,
    lastHash: hashes.at(-1) ?? null,
    manifest: check
      ? {
          kid: check.kid,
          signature: check.signature,
          ...(manifest
            ? { events: manifest.events, lastHash: manifest.lastHash, signedAt: manifest.signedAt }
            : {}),
        }
      : null,
    problems,
  }
  if (verdict.status === 'incomplete') {
    verdict.incomplete = sessionEnd
      ? 'session.end is recorded but there is no signed manifest'
      : 'there is no session.end and no signed manifest: the session was cut short, or is still open'
  }
  return verdict
}

const SIGNATURE_PROBLEMS: Record<Exclude<SignatureCheck, 'valid'> | 'unreadable', string> = {
  invalid: 'the manifest signature does not verify: the manifest was altered',
  unknown_key: 'the manifest is signed with a key that is not among the gateway signing keys',
  unreadable: 'the manifest is not a signed Gatehouse manifest',
}

/** The signed manifest must describe the session the events describe. */
function reportManifestMismatches(
  manifest: Manifest,
  bySeq: ReadonlyMap<number, Entry>,
  modified: ReadonlySet<number>,
  report: (problem: Problem) => void
): void {
  const mismatch = (detail: string) => report({ kind: 'manifest_mismatch', detail })
  if (manifest.transcriptVersion !== TRANSCRIPT_VERSION) {
    mismatch(`the manifest names transcript version ${manifest.transcriptVersion}`)
  }
  const trusted = (seq: number) => {
    const entry = bySeq.get(seq)
    return entry && !entry.flaw && !modified.has(seq) ? entry.event : undefined
  }
  const start = trusted(0)
  if (start) {
    const data = start.data
    const caller = (data.caller ?? {}) as Record<string, unknown>
    const facts: [string, unknown, unknown][] = [
      ['protocol', manifest.protocol, data.protocol],
      ['connection', manifest.connection, data.connection],
      ['caller', manifest.caller.id, caller.id],
      ['start time', manifest.startedAt, start.at],
    ]
    for (const [name, signed, recorded] of facts) {
      if (signed !== recorded) {
        mismatch(`the manifest's ${name} is ${signed}; session.start records ${recorded}`)
      }
    }
  }
  const last = trusted(manifest.events - 1)
  if (last && last.at !== manifest.endedAt) {
    mismatch(`the manifest's end time is ${manifest.endedAt}; the last event's is ${last.at}`)
  }
}

/** Manifest problems first, then by position in the session. */
function orderOf(problem: Problem): number {
  return problem.seq ?? problem.index ?? -1
}
