/**
 * What every stage needs from the outside world, built once per request: parsed config,
 * storage handles, the clock and waitUntil. Stages take this instead of hono's context,
 * so the same pipeline serves HTTP routes, WebSocket tunnels and Durable Objects.
 */

import type { ApprovalRequest } from '../approvals/approval-request.do.ts'
import { DurableApprovalGate } from '../approvals/gate.ts'
import { type Config, loadConfig } from '../config.ts'
import type { SessionControl } from '../containment/session-control.do.ts'
import { type Database, openDatabase } from '../db/client.ts'
import type { ApprovalGate } from './pause.ts'

export type Gateway = {
  config: Config
  db: Database
  bucket: R2Bucket
  now: () => number
  waitUntil: (promise: Promise<unknown>) => void
  /** Base of links the gateway hands out: PUBLIC_URL, else the request's own origin. */
  publicUrl: string
  approvalRequests: DurableObjectNamespace<ApprovalRequest>
  approvals: ApprovalGate
  /** One SessionControl object per live session: the kill switch (containment/). */
  sessionControls: DurableObjectNamespace<SessionControl>
}

export function createGateway(
  env: Env,
  waitUntil: (promise: Promise<unknown>) => void,
  requestUrl: string
): Gateway {
  const config = loadConfig(env)
  const publicUrl = config.publicUrl ?? new URL(requestUrl).origin
  return {
    config,
    db: openDatabase(env.DB),
    bucket: env.SESSIONS,
    now: Date.now,
    waitUntil,
    publicUrl,
    approvalRequests: env.APPROVALS,
    approvals: new DurableApprovalGate({
      namespace: env.APPROVALS,
      publicUrl,
      defaultTtlSeconds: config.approvals.ttlSeconds,
      now: Date.now,
    }),
    sessionControls: env.SESSION_CONTROL,
  }
}
