/**
 * Turns an authenticated person into an Approver: the policy references they answer
 * to right now (so a removal from a group takes effect on the next decision).
 */
import type { Gateway } from '../pipeline/gateway.ts'
import type { Caller } from '../pipeline/types.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import { principalsOf } from '../policy/principals.ts'
import { currentPolicy } from '../policy/store.ts'
import type { Approver } from './types.ts'

/** The policy in force. */
export function loadCurrentPolicy(gateway: Gateway): Promise<CompiledPolicy> {
  return currentPolicy(gateway.db)
}

/** A person signed in at the IdP (approval page). */
export function approverFromIdentity(
  identity: { subject: string; email?: string; groups: readonly string[] },
  policy: CompiledPolicy,
  proof: string
): Approver {
  return approverFromCaller(
    {
      id: `user:${identity.subject}`,
      name: identity.subject,
      ...(identity.email ? { email: identity.email } : {}),
      via: 'oidc',
      idpGroups: identity.groups,
      scope: [],
    },
    policy,
    proof
  )
}

/** A bearer-authenticated caller of the decision API (OIDC user or agent token). */
export function approverFromCaller(
  caller: Caller,
  policy: CompiledPolicy,
  proof: string
): Approver {
  return {
    id: caller.id,
    name: caller.name,
    ...(caller.email ? { email: caller.email } : {}),
    principals: [...principalsOf(caller, policy)],
    proof,
  }
}

/** A Slack user mapped by the policy's `slackUsers`; null when unmapped. */
export function approverFromSlackUser(
  policy: CompiledPolicy,
  slackUserId: string
): Approver | null {
  const subject = policy.document.slackUsers[slackUserId]
  if (!subject) return null
  const name = subject.slice('user:'.length)
  const principals = new Set([subject, ...(policy.memberships.get(subject) ?? [])])
  return {
    id: subject,
    name,
    ...(name.includes('@') ? { email: name } : {}),
    principals: [...principals],
    proof: `slack:${slackUserId}`,
  }
}
