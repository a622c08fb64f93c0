/** /v1/admin/approvals: the D1 index of approvals, newest first, and each one's R2 log. */
import { and, desc, eq } from 'drizzle-orm'
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { publicView } from '../approvals/api-routes.ts'
import { readApproval } from '../approvals/decide.ts'
import { approvals } from '../db/schema.ts'
import { GatehouseError } from '../errors.ts'
import { verifyChain } from '../recorder/hash-chain.ts'
import { approvalLogPrefix } from '../recorder/transcript-keys.ts'
import { readTranscriptLines } from '../recorder/transcript-reader.ts'
import { parseWith } from './body.ts'

const ApprovalQuery = z
  .object({
    state: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']).optional(),
    connection: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict()

export const approvalAdminRoutes = new Hono<AppEnv>()

approvalAdminRoutes.get('/', async (c) => {
  const query = parseWith(ApprovalQuery, c.req.query(), 'request.invalid', 'Invalid approval query')
  const rows = await c.var.gateway.db
    .select()
    .from(approvals)
    .where(
      and(
        query.state ? eq(approvals.state, query.state) : undefined,
        query.connection ? eq(approvals.connectionName, query.connection) : undefined
      )
    )
    .orderBy(desc(approvals.requestedAt))
    .limit(query.limit)
    .all()
  return c.json({ approvals: rows })
})

/** The approval as its Durable Object holds it, with its event log and whether the chain holds. */
approvalAdminRoutes.get('/:id', async (c) => {
  const { gateway } = c.var
  const record = await readApproval(gateway, c.req.param('id'))
  if (!record) throw new GatehouseError('approval.not_found', 'There is no such approval request.')
  const lines = await readTranscriptLines(
    gateway.bucket,
    approvalLogPrefix(record.id, record.requestedAt)
  )
  return c.json({
    approval: publicView(record),
    events: lines.map((line) => JSON.parse(line) as unknown),
    integrity: await verifyChain(record.id, lines),
  })
})
