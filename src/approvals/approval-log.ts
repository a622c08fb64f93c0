/**
 * An approval's own tamper-evident history in R2: every state change is one write-once
 * object, hash-chained like a session transcript (sid = the approval id). The change
 * takes effect only once its event is durable, so the evidence never trails the state.
 */
import { TRANSCRIPT_VERSION } from '../recorder/event.ts'
import { hashLine } from '../recorder/hash-chain.ts'
import { approvalLogPrefix, chunkKey } from '../recorder/transcript-keys.ts'

/** Where the chain stands; kept by the Durable Object with the record. */
export type ApprovalLogHead = { next: number; lastHash: string | null }

export const EMPTY_LOG: ApprovalLogHead = { next: 0, lastHash: null }

/** Writes one event; resolves with the new head once it is durable, throws otherwise. */
export async function appendApprovalEvent(
  bucket: R2Bucket,
  approval: { id: string; requestedAt: number },
  head: ApprovalLogHead,
  at: number,
  data: Record<string, unknown>
): Promise<ApprovalLogHead> {
  const line = JSON.stringify({
    v: TRANSCRIPT_VERSION,
    sid: approval.id,
    seq: head.next,
    at: new Date(at).toISOString(),
    type: 'approval',
    prev: head.lastHash,
    data,
  })
  const hash = await hashLine(line)
  const written = await bucket.put(
    chunkKey(approvalLogPrefix(approval.id, approval.requestedAt), head.next),
    `${line}\n`,
    {
      onlyIf: { etagDoesNotMatch: '*' },
      httpMetadata: { contentType: 'application/x-ndjson' },
      customMetadata: { approval: approval.id, lastHash: hash },
    }
  )
  if (written === null) throw new Error(`approval event ${head.next} of ${approval.id} exists`)
  return { next: head.next + 1, lastHash: hash }
}
