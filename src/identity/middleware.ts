/** hono middleware for the two doors: callers on the data path, administrators on /v1/admin. */
import { createMiddleware } from 'hono/factory'
import { type AppEnv, clientOf } from '../app-env.ts'
import { recordRefusal } from '../pipeline/session.ts'
import { touchAgentToken } from './agent-token-store.ts'
import { authenticateAdmin, authenticateCaller, IdentifiedRefusal } from './authenticate.ts'
import { readBearerToken } from './bearer.ts'

/**
 * Authenticates the caller of a route that opens no session (e.g. whoami); `protocol`
 * names it in the transcript of a recorded refusal. Session routes authenticate in
 * openSession instead, together with authorization.
 */
export function requireCaller(protocol: string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const gateway = c.get('gateway')
    try {
      const token = readBearerToken(c.req.header('authorization'))
      const { caller, agentToken } = await authenticateCaller(token, gateway)
      if (agentToken) {
        gateway.waitUntil(touchAgentToken(gateway.db, agentToken, gateway.now()).catch(() => {}))
      }
      c.set('caller', caller)
    } catch (error) {
      // A refused token we can attribute (revoked, expired) is evidence worth keeping.
      if (error instanceof IdentifiedRefusal) {
        recordRefusal(
          gateway,
          { caller: error.caller, connectionName: '-', protocol, client: clientOf(c.req.raw) },
          error
        )
      }
      throw error
    }
    await next()
  })
}

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const gateway = c.get('gateway')
  const token = readBearerToken(c.req.header('authorization'))
  c.set('caller', await authenticateAdmin(token, gateway))
  await next()
})
