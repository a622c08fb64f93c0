/** `GET /v1/whoami`: who the gateway thinks the caller is, and which connections it may use. */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { listConnections } from '../connections/store.ts'
import { isGranted } from '../policy/decide.ts'
import { principalsOf } from '../policy/principals.ts'
import { currentPolicy } from '../policy/store.ts'

export async function whoami(c: Context<AppEnv>): Promise<Response> {
  const { gateway, caller } = c.var
  const [policy, rows] = await Promise.all([currentPolicy(gateway.db), listConnections(gateway.db)])
  const principals = principalsOf(caller, policy)
  const usable = rows.filter(
    (row) =>
      (caller.scope.includes('*') || caller.scope.includes(row.name)) &&
      isGranted(policy, principals, row.name)
  )
  return c.json({
    caller,
    principals: [...principals],
    connections: usable.map((row) => ({
      name: row.name,
      kind: row.kind,
      description: row.description,
    })),
  })
}
