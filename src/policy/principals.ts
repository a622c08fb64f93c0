/**
 * The set of policy references a caller answers to: its own `user:`/`agent:` names, its
 * IdP groups as `idp:`, and every `group:` those belong to. Computed once per session.
 */
import type { Caller } from '../pipeline/types.ts'
import type { CompiledPolicy } from './compile.ts'

export type Principals = ReadonlySet<string>

export function principalsOf(caller: Caller, policy: CompiledPolicy): Principals {
  const own: string[] = []
  if (caller.via === 'agent_token') own.push(`agent:${caller.name}`)
  if (caller.via === 'oidc') {
    own.push(`user:${caller.name}`)
    if (caller.email) own.push(`user:${caller.email}`)
  }
  for (const group of caller.idpGroups) own.push(`idp:${group}`)
  const principals = new Set(own)
  for (const reference of own) {
    for (const group of policy.memberships.get(reference) ?? []) principals.add(group)
  }
  return principals
}

export function intersects(principals: Principals, subjects: ReadonlySet<string>): boolean {
  for (const subject of subjects) if (principals.has(subject)) return true
  return false
}
