/**
 * The decision engine: pure, no I/O, no clock. Grants say who may use a connection at
 * all; then the connection's rules are tried in order and the first match decides. No
 * match falls to the connection's default, which is `block` unless set otherwise.
 * SQL is decided statement by statement, and the command gets the most severe answer:
 * one blocked statement blocks the whole batch, so nothing in it reaches the origin.
 */
import type {
  Command,
  Decision,
  HttpCommand,
  PolicyAction,
  SqlStatement,
} from '../pipeline/types.ts'
import type { CompiledConnectionPolicy, CompiledPolicy, CompiledRule } from './compile.ts'
import { matchesPath } from './glob.ts'
import { intersects, type Principals } from './principals.ts'
import type { NamePattern } from './sql-names.ts'

const SEVERITY: Record<PolicyAction, number> = { allow: 0, require_approval: 1, block: 2 }

/** What one rule is tried against: an HTTP request, or one SQL statement. */
type Subject = HttpCommand | { kind: 'statement'; statement: SqlStatement }

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
    return { action: 'block', rule: null, reason: `No policy covers connection "${connection}".` }
  }
  if (command.kind === 'http') return decideOne(connectionPolicy, principals, connection, command)

  const each = command.statements.map((statement) =>
    decideOne(connectionPolicy, principals, connection, { kind: 'statement', statement })
  )
  let worst = 0
  each.forEach((decision, index) => {
    const current = each[worst]
    if (current && SEVERITY[decision.action] > SEVERITY[current.action]) worst = index
  })
  const decisive =
    each[worst] ?? decideOne(connectionPolicy, principals, connection, unknownStatement())
  if (each.length <= 1) return decisive
  return {
    ...decisive,
    reason: `Statement ${worst + 1} of ${each.length}: ${decisive.reason}`,
    statements: each.map((decision, index) => ({
      index,
      action: decision.action,
      rule: decision.rule?.name ?? null,
    })),
  }
}

function decideOne(
  policy: CompiledConnectionPolicy,
  principals: Principals,
  connection: string,
  subject: Subject
): Decision {
  for (const rule of policy.rules) {
    if (rule.who && !intersects(principals, rule.who)) continue
    if (!matches(rule, subject)) continue
    return {
      action: rule.action,
      rule: { index: rule.index, name: rule.name },
      reason: rule.reason ?? defaultReason(rule.action, `rule "${rule.name}"`),
      ...(rule.approvers ? { approvers: rule.approvers } : {}),
      ...(rule.expiresAfterSeconds ? { expiresAfterSeconds: rule.expiresAfterSeconds } : {}),
    }
  }
  const held = policy.defaultAction === 'require_approval'
  const { approvers, expiresAfterSeconds } = policy.approval
  return {
    action: policy.defaultAction,
    rule: null,
    reason: defaultReason(policy.defaultAction, `the default of "${connection}" (no rule matched)`),
    ...(held && approvers ? { approvers } : {}),
    ...(held && expiresAfterSeconds ? { expiresAfterSeconds } : {}),
  }
}

function matches(rule: CompiledRule, subject: Subject): boolean {
  const httpRule = rule.methods !== undefined || rule.paths !== undefined
  const sqlRule =
    rule.classes !== undefined || rule.tables !== undefined || rule.functions !== undefined
  if (subject.kind === 'http') {
    if (sqlRule) return false
    if (rule.methods && !rule.methods.has(subject.method)) return false
    if (rule.paths && !rule.paths.some((pattern) => matchesPath(pattern, subject.path)))
      return false
    return true
  }
  if (httpRule) return false
  const { statement } = subject
  if (rule.classes && !rule.classes.has(statement.class)) return false
  // An allow rule is a limit (everything referenced must be covered); the others are tripwires.
  const covers = rule.action === 'allow' ? every : some
  if (rule.tables && !covers(statement.tables, rule.tables)) return false
  if (rule.functions && !covers(statement.functions, rule.functions)) return false
  return true
}

function every(names: readonly string[], patterns: readonly NamePattern[]): boolean {
  return names.every((name) => patterns.some((pattern) => pattern(name)))
}

function some(names: readonly string[], patterns: readonly NamePattern[]): boolean {
  return names.some((name) => patterns.some((pattern) => pattern(name)))
}

function unknownStatement(): Subject {
  return {
    kind: 'statement',
    statement: {
      text: '',
      class: 'unknown',
      kind: 'Unknown',
      writes: true,
      tables: [],
      functions: [],
      risks: ['no statement'],
    },
  }
}

function defaultReason(action: PolicyAction, source: string): string {
  switch (action) {
    case 'allow':
      return `Allowed by ${source}.`
    case 'block':
      return `Blocked by ${source}.`
    case 'require_approval':
      return `Needs approval under ${source}.`
  }
}
