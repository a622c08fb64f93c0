/**
 * What every stage needs from the outside world, built once per request: parsed config,
 * storage handles, the clock and waitUntil. Stages take this instead of hono's context,
 * so the same pipeline serves HTTP routes, WebSocket tunnels and Durable Objects.
 */
import { type Config, loadConfig } from '../config.ts'
import { type Database, openDatabase } from '../db/client.ts'
import { APPROVALS_DISABLED, type ApprovalGate } from './pause.ts'

export type Gateway = {
  config: Config
  db: Database
  bucket: R2Bucket
  now: () => number
  waitUntil: (promise: Promise<unknown>) => void
  approvals: ApprovalGate
}

export function createGateway(env: Env, waitUntil: (promise: Promise<unknown>) => void): Gateway {
  return {
    config: loadConfig(env),
    db: openDatabase(env.DB),
    bucket: env.SESSIONS,
    now: Date.now,
    waitUntil,
    approvals: APPROVALS_DISABLED,
  }
}
