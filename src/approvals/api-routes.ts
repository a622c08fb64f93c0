/**
 * The approvals API for people and tools with a bearer token:
 *
 *   GET  /v1/approvals/:id           the request and its state (requester or approvers)
 *   POST /v1/approvals/:id/decision  {"verdict": "approve"|"deny", "comment"?}
 *
 * The same rules as the approval page apply (approver group, never the requester); the
 * CLI's `gatehouse approvals approve|deny` uses it.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { readJson } from '../admin/body.ts'
import type { AppEnv } from '../app-env.ts'
import { GatehouseError } from '../errors.ts'
import { requireCaller } from '../identity/middleware.ts'
import { approverFromCaller, loadCurrentPolicy } from './approver.ts'
import { decideApproval, readApproval } from './decide.ts'
import type { ApprovalRecord } from './types.ts'

const DecisionBody = z
  .object({
    verdict: z.enum(['approve', 'deny']),
    comment: z.string().max(500).optional(),
  })
  .strict()

export const approvalApiRoutes = new Hono<AppEnv>()

approvalApiRoutes.use(requireCaller('approvals-api'))

approvalApiRoutes.get('/:id', async (c) => {
  const { gateway, caller } = c.var
  const record = await readApproval(gateway, c.req.param('id'))
  if (!record) throw notFound()
  const policy = await loadCurrentPolicy(gateway)
  const approver = approverFromCaller(caller, policy, 'bearer')
  const mayView =
    record.requester.id === caller.id ||
    record.approvers.some((subject) => approver.principals.includes(subject))
  if (!mayView) throw notFound()
  return c.json(publicView(record))
})

approvalApiRoutes.post('/:id/decision', async (c) => {
  const { gateway, caller } = c.var
  const body = await readJson(c.req.raw, DecisionBody)
  const policy = await loadCurrentPolicy(gateway)
  const approver = approverFromCaller(caller, policy, `bearer:${caller.via}`)
  const result = await decideApproval(
    gateway,
    c.req.param('id'),
    approver,
    body.verdict,
    'api',
    body.comment
  )
  if (!result.ok) {
    throw new GatehouseError(result.code, result.message, {
      detail: `approver ${approver.id} (${approver.principals.join(',')})`,
    })
  }
  return c.json(publicView(result.record), 200)
})

function notFound(): GatehouseError {
  return new GatehouseError('approval.not_found', 'There is no such approval request for you.')
}

/** What callers see: everything but Slack's internals. */
export function publicView(record: ApprovalRecord) {
  const { slack: _slack, ...rest } = record
  return {
    ...rest,
    requestedAt: new Date(record.requestedAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    ...(record.endedAt ? { endedAt: new Date(record.endedAt).toISOString() } : {}),
    ...(record.consumedAt ? { consumedAt: new Date(record.consumedAt).toISOString() } : {}),
  }
}
