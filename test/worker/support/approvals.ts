/** Approvals from the outside: finding a held command's approval, and deciding it. */
import { expect } from 'vitest'
import { adminJson, gatewayFetch } from './gateway.ts'
import { signedByProvider } from './oidc.ts'

export type ApprovalRow = {
  id: string
  sessionId: string
  connectionName: string
  requesterId: string
  summary: string
  state: string
  decidedBy: string | null
  decidedVia: string | null
  consumedAt: number | null
  approvers: string[]
}

/** Waits until the connection has a pending approval whose summary contains `marker`. */
export async function pendingApproval(
  connection: string,
  marker: string,
  timeoutMs = 5_000
): Promise<ApprovalRow> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { approvals } = await adminJson<{ approvals: ApprovalRow[] }>(
      'GET',
      `/approvals?state=pending&connection=${connection}&limit=200`
    )
    const found = approvals.find((row) => row.summary.includes(marker))
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no pending approval for ${marker}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export async function approvalRow(id: string): Promise<ApprovalRow> {
  const { approvals } = await adminJson<{ approvals: ApprovalRow[] }>('GET', '/approvals?limit=200')
  const row = approvals.find((candidate) => candidate.id === id)
  expect(row, `approval ${id} is indexed`).toBeDefined()
  return row as ApprovalRow
}

/** An OIDC user's bearer token, signed by the test IdP. */
export function personToken(
  subject: string,
  groups: string[] = [],
  email = `${subject}@example.com`
): Promise<string> {
  return signedByProvider({ sub: subject, email, groups })
}

/** Decides through the approvals API with `token`. */
export function decideWith(
  token: string,
  id: string,
  verdict: 'approve' | 'deny',
  comment?: string
): Promise<Response> {
  return gatewayFetch(`/v1/approvals/${id}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ verdict, ...(comment ? { comment } : {}) }),
  })
}

export type ApprovalDetail = {
  approval: { id: string; state: string; decision?: { by: { id: string }; via: string } }
  events: { seq: number; data: Record<string, unknown> }[]
  integrity: { intact: boolean; events: number }
}

export function approvalDetail(id: string): Promise<ApprovalDetail> {
  return adminJson<ApprovalDetail>('GET', `/approvals/${id}`)
}

/** The detail once its log holds at least `events` events (some are written after the answer). */
export async function approvalDetailWith(id: string, events: number): Promise<ApprovalDetail> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const detail = await approvalDetail(id)
    if (detail.events.length >= events || Date.now() > deadline) return detail
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
