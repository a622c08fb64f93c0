/** hono's typing for this app: Worker bindings and the per-request variables. */
import type { Gateway } from './pipeline/gateway.ts'
import type { Caller } from './pipeline/types.ts'

export type AppEnv = {
  Bindings: Env
  Variables: {
    gateway: Gateway
    /** The authenticated caller (data path) or administrator (admin API). */
    caller: Caller
  }
}

/** What is known about the client end of an HTTP request, for the transcript. */
export function clientOf(request: Request): { ip?: string; userAgent?: string } {
  const ip = request.headers.get('cf-connecting-ip')
  const userAgent = request.headers.get('user-agent')
  return { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) }
}
