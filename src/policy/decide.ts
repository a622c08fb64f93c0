/**
 * The decision engine: pure, no I/O, no clock. Grants say who may use a connection at
 * all; then the connection's rules are tried in order and the first match decides. No
 * match falls to the connection's default, which is `block` unless set otherwise.
 * SQL is decided statement by statement, and a shell command line simple command by
 * simple command; the command gets the most severe answer: one blocked statement blocks
 * the whole batch (one blocked command the whole line), so nothing in it reaches the origin.
 */
import type {
  Command,
  Decision,
  HttpCommand,
  PolicyAction,
  ShellSimpleCommand,
  SqlStatement,
} from '../pipeline/types.ts'
import type { CompiledConnectionPolicy, CompiledPolicy, CompiledRule } from './compile.ts'
import { matchesPath } from './glob.ts'
import { intersects, type Principals } from './principals.ts'
import { type ArgPattern, isNamedProgram, operandForms, optionMatches } from './shell-patterns.ts'
import type { NamePattern } from './sql-names.ts'

const SEVERITY: Record<PolicyAction, number> = { allow: 0, require_approval: 1, block: 2 }

/** What one rule is tried against: an HTTP request, one SQL statement, one shell command. */
type Subject =
  | HttpCommand
  | { kind: 'statement'; statement: SqlStatement }
  | { kind: 'simple'; command: ShellSimpleCommand }

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

  const subjects: Subject[] =
    command.kind === 'sql'
      ? command.statements.map((statement) => ({ kind: 'statement', statement }))
      : command.commands.map((simple) => ({ kind: 'simple', command: simple }))
  const each = subjects.map((subject) =>
    decideOne(connectionPolicy, principals, connection, subject)
  )
  let worst = 0
  each.forEach((decision, index) => {
    const current = each[worst]
    if (current && SEVERITY[decision.action] > SEVERITY[current.action]) worst = index
  })
  const nothing = command.kind === 'sql' ? unknownStatement() : unknownShellCommand()
  const decisive = each[worst] ?? decideOne(connectionPolicy, principals, connection, nothing)
  if (each.length <= 1) return decisive
  const unit = command.kind === 'sql' ? 'Statement' : 'Command'
  return {
    ...decisive,
    reason: `${unit} ${worst + 1} of ${each.length}: ${decisive.reason}`,
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
  const sqlOnly = rule.tables !== undefined || rule.functions !== undefined
  const shellOnly =
    rule.programs !== undefined || rule.options !== undefined || rule.args !== undefined
  if (subject.kind === 'http') {
    if (rule.classes || sqlOnly || shellOnly) return false
    if (rule.methods && !rule.methods.has(subject.method)) return false
    if (rule.paths && !rule.paths.some((pattern) => matchesPath(pattern, subject.path)))
      return false
    return true
  }
  if (httpRule) return false
  // An allow rule is a limit (everything referenced must be covered); the others are tripwires.
  const limit = rule.action === 'allow'
  const covers = limit ? every : some
  if (subject.kind === 'statement') {
    if (shellOnly) return false
    const { statement } = subject
    if (rule.classes && !rule.classes.has(statement.class)) return false
    if (rule.tables && !covers(statement.tables, rule.tables)) return false
    if (rule.functions && !covers(statement.functions, rule.functions)) return false
    return true
  }
  if (sqlOnly) return false
  const { command } = subject
  if (rule.classes && !rule.classes.has(command.class)) return false
  if (rule.programs) {
    const named = isNamedProgram(command.program)
    if (!named || !rule.programs.some((pattern) => pattern.test(command.program))) return false
  }
  const { options, args } = rule
  if (options) {
    const listed = (option: string) => optionMatches(option, options, !limit)
    if (limit ? !command.options.every(listed) : !command.options.some(listed)) return false
  }
  if (args && !(limit ? everyOperand : someOperand)(command.operands, args)) return false
  return true
}

/** Allow: every operand, in every form it may take (as written, normalised), is covered. */
function everyOperand(operands: readonly string[], patterns: readonly ArgPattern[]): boolean {
  return operands.every((operand) =>
    operandForms(operand).every((form) => patterns.some((pattern) => pattern(form)))
  )
}

/** Tripwire: some operand, in some form, matches. */
function someOperand(operands: readonly string[], patterns: readonly ArgPattern[]): boolean {
  return operands.some((operand) =>
    operandForms(operand).some((form) => patterns.some((pattern) => pattern(form)))
  )
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

/** What an empty command line is decided as: nothing seen, so unknown (fail closed). */
function unknownShellCommand(): Subject {
  return {
    kind: 'simple',
    command: {
      text: '',
      program: '',
      args: [],
      options: [],
      operands: [],
      class: 'unknown',
      writes: true,
      via: [],
      risks: ['no command'],
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
