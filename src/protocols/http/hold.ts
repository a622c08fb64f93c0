/**
 * How HTTP callers (the proxy and the JSON APIs) wait for an approval: held up to
 * APPROVAL_WAIT_SECONDS, or less with `Prefer: wait=<seconds>` (RFC 7240 §4.3); then a
 * 202 names the approval, and a retry sends it back in `X-Gatehouse-Approval`.
 */
import type { Config } from '../../config.ts'
import type { GatehouseError } from '../../errors.ts'
import type { HoldOptions } from '../../pipeline/pause.ts'

export const APPROVAL_HEADER = 'x-gatehouse-approval'

export function httpHoldOptions(request: Request, config: Config): HoldOptions {
  const limitMs = config.approvals.waitSeconds * 1000
  const preferred = /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/i.exec(
    request.headers.get('prefer') ?? ''
  )?.[1]
  const approvalId = request.headers.get(APPROVAL_HEADER)?.trim()
  return {
    waitMs: preferred === undefined ? limitMs : Math.min(Number(preferred) * 1000, limitMs),
    ...(approvalId ? { approvalId } : {}),
    signal: request.signal,
  }
}

/** Extra headers for a refusal: a pending approval's id travels in a header too. */
export function approvalHeaders(error: GatehouseError): Record<string, string> {
  if (error.code !== 'approval.pending') return {}
  const data = error.data as { approvalId?: string } | undefined
  return data?.approvalId ? { [APPROVAL_HEADER]: data.approvalId } : {}
}
