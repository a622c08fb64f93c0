/** Finding an approval's Durable Object from its id (the DO id's hex form). */
import type { ApprovalRequest } from './approval-request.do.ts'

const APPROVAL_ID = /^[0-9a-f]{64}$/

/** The approval's stub, or null when `id` cannot be one of ours. */
export function approvalStub(
  namespace: DurableObjectNamespace<ApprovalRequest>,
  id: string
): DurableObjectStub<ApprovalRequest> | null {
  if (!APPROVAL_ID.test(id)) return null
  try {
    return namespace.get(namespace.idFromString(id))
  } catch {
    // Well-formed but not minted by this namespace.
    return null
  }
}

/** A fresh approval id. */
export function newApprovalId(namespace: DurableObjectNamespace<ApprovalRequest>): string {
  return namespace.newUniqueId().toString()
}
