/**
 * The integrity badge: the transcript in R2 verified as evidence (hash chain, and the
 * signed closing manifest when there is one, naming each altered event), and whether the
 * D1 index agrees with it. The same checks as `GET /v1/admin/sessions/:id/verify`.
 */
import { publishedSigningKeys } from '../evidence/signing-key.ts'
import { type TranscriptVerdict, verifyTranscript } from '../evidence/verify-transcript.ts'
import type { Gateway } from '../pipeline/gateway.ts'
import { readManifest } from '../recorder/transcript-reader.ts'

export type Integrity = {
  verdict: TranscriptVerdict
  /**
   * `matches`: the index names the chain head R2 holds. `trails`: a live session's index
   * is refreshed as it goes, so it may count fewer events. `differs`: events were removed
   * or added behind the index's back.
   */
  index: 'matches' | 'trails' | 'differs'
  /** Events the index counts. */
  indexed: number
  /** The session is still open, so it has no signed manifest yet. */
  live: boolean
}

/** Verifies `lines`, session `row.id`'s transcript as read, against its manifest and index row. */
export async function checkIntegrity(
  gateway: Gateway,
  row: {
    id: string
    status: string
    events: number
    lastHash: string | null
    transcriptPrefix: string
  },
  lines: readonly string[]
): Promise<Integrity> {
  const [manifest, keys] = await Promise.all([
    readManifest(gateway.bucket, row.transcriptPrefix),
    publishedSigningKeys(gateway.config),
  ])
  const verdict = await verifyTranscript({ sessionId: row.id, lines, manifest, keys })
  const index =
    verdict.events === row.events && verdict.lastHash === row.lastHash
      ? 'matches'
      : row.status === 'open' && verdict.events >= row.events
        ? 'trails'
        : 'differs'
  return { verdict, index, indexed: row.events, live: row.status === 'open' }
}
