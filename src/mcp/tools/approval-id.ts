/** An approval id as tools take it: the hex id of its Durable Object (approvals/approval-stub.ts). */
import { z } from 'zod'

export const ApprovalId = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be the approval id Gatehouse returned (64 hex digits)')
