/**
 * The decision engine: pure, no I/O, no clock. Grants say who may use a connection at
 * all; then the connection's rules are tried in order and the first match decides. No
 * match falls to the connection's default, which is `block` unless set otherwise.
 */
import type { Command, Decision } from '../pipeline/types.ts'
import type { CompiledPolicy, CompiledRule } from './compile.ts'
import { matchesPath } from './glob.ts'
import { intersects, type Principals } from './principals.ts'

/** Whether the policy grants any of the caller's principals the connection. */
export function isGranted(
  policy: CompiledPolicy,
  principals: Principals,
  connection: string
): boolean {
  const grants = policy.connections.get(connection)?.grants
  return grants !== undefined && intersects(principals, grants)
}

export function decide(
  policy: CompiledPolicy,
  principals: Principals,
  connection: string,
  command: Command
): Decision {
  const connectionPolicy = policy.connections.get(connection)
  if (!connectionPolicy) {
    return {
      action: 'block',
      rule: null,
      reason: `No policy covers connection "${connection}".`,
    }
  }
  for (const rule of connectionPolicy.rules) {
    if (rule.who && !intersects(principals, rule.who)) continue
    if (!matchesCommand(rule, command)) continue
    return {
      action: rule.action,
      rule: { index: rule.index, name: rule.name },
      reason: rule.reason ?? defaultReason(rule.action, `rule "${rule.name}"`),
      ...(rule.approvers ? { approvers: rule.approvers } : {}),
    }
  }
  return {
    action: connectionPolicy.defaultAction,
    rule: null,
    reason: defaultReason(
      connectionPolicy.defaultAction,
      `the default of "${connection}" (no rule matched)`
    ),
  }
}

function matchesCommand(rule: CompiledRule, command: Command): boolean {
  switch (command.kind) {
    case 'http':
      if (rule.methods && !rule.methods.has(command.method)) return false
      if (rule.paths && !rule.paths.some((pattern) => matchesPath(pattern, command.path)))
        return false
      return true
  }
}

function defaultReason(action: Decision['action'], source: string): string {
  switch (action) {
    case 'allow':
      return `Allowed by ${source}.`
    case 'block':
      return `Blocked by ${source}.`
    case 'require_approval':
      return `Needs approval under ${source}.`
  }
}
