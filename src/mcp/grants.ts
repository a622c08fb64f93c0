/**
 * The connections an MCP caller may use: those its token is scoped to (`Caller.scope`)
 * and the policy in force grants it, as `GET /v1/whoami` lists them, each with its policy
 * in plain words for tool descriptions. Only descriptive: each tool call is authorized
 * again by openSession, locks included.
 */
import { listConnections } from '../connections/store.ts'
import type { Gateway } from '../pipeline/gateway.ts'
import type { Caller, ConnectionKind } from '../pipeline/types.ts'
import { isGranted } from '../policy/decide.ts'
import { principalsOf } from '../policy/principals.ts'
import { currentPolicy } from '../policy/store.ts'
import { summarizeConnectionPolicy } from './policy-summary.ts'

export type GrantedConnection = {
  name: string
  kind: ConnectionKind
  description: string
  /** The rules that apply to this caller, first match first, then the default. */
  policy: string[]
}

export async function grantedConnections(
  gateway: Gateway,
  caller: Caller
): Promise<GrantedConnection[]> {
  const [policy, rows] = await Promise.all([currentPolicy(gateway.db), listConnections(gateway.db)])
  const principals = principalsOf(caller, policy)
  return rows
    .filter(
      (row) =>
        (caller.scope.includes('*') || caller.scope.includes(row.name)) &&
        isGranted(policy, principals, row.name)
    )
    .map((row) => ({
      name: row.name,
      kind: row.kind,
      description: row.description,
      policy: summarizeConnectionPolicy(policy, row.name, row.kind, principals),
    }))
}
