/**
 * Plain words for a connection's policy, as it applies to one caller, for MCP tool
 * descriptions: a model plans better when it knows up front that `DROP` is blocked and
 * writes to `orders` need approval. Pure: the compiled policy and principals in, text out.
 * It describes; it never decides (the pipeline still decides every command).
 */
import type { ConnectionKind, PolicyAction } from '../pipeline/types.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { ConnectionPolicy, Rule } from '../policy/document.ts'
import { intersects, type Principals } from '../policy/principals.ts'

/** Rules listed per connection before the rest are counted; descriptions stay readable. */
const MAX_RULE_LINES = 12
/** Longest `reason` quoted from a rule. */
const MAX_REASON_CHARS = 160

const ACTION_WORDS: Record<PolicyAction, string> = {
  allow: 'allowed',
  block: 'blocked',
  require_approval: 'needs approval',
}

const SQL_CLASS_WORDS: Record<string, string> = {
  read: 'reads (SELECT)',
  write: 'writes (INSERT, UPDATE, DELETE, MERGE)',
  ddl: 'DDL (CREATE, ALTER, DROP, TRUNCATE)',
  privilege: 'privilege changes (GRANT, REVOKE, roles)',
  admin: 'admin statements (server files, COPY PROGRAM, extensions, settings)',
  transaction: 'transaction control (BEGIN, COMMIT, ROLLBACK)',
  session: 'session statements (SET, SHOW, RESET)',
  copy: 'COPY',
  utility: 'utility statements (EXPLAIN, VACUUM, ANALYZE)',
  unknown: 'statements the parser cannot see through (DO blocks, dynamic SQL)',
}

const SHELL_CLASS_WORDS: Record<string, string> = {
  read: 'read-only commands',
  write: 'commands that change files, services or users',
  process: 'process control',
  network: 'network commands',
  privilege: 'privilege changes',
  admin: 'system administration',
  code: 'commands that run code the gateway cannot see (interpreters, eval)',
  interactive: 'interactive shells',
  unknown: 'commands the parser cannot read',
}

/** What a rule's match may name, across HTTP, SQL and shell rules. */
type MatchWords = {
  methods?: readonly string[]
  paths?: readonly string[]
  classes?: readonly string[]
  tables?: readonly string[]
  functions?: readonly string[]
  programs?: readonly string[]
  options?: readonly string[]
  args?: readonly string[]
}

/**
 * One line per rule that applies to the caller, in order, then the default; e.g.
 * `on appdb (first matching rule decides): blocked: DDL (CREATE, ALTER, DROP, TRUNCATE)
 * (rule no-ddl); needs approval: writes … touching orders (rule order-writes); …`.
 */
export function summarizeConnectionPolicy(
  policy: CompiledPolicy,
  connection: string,
  kind: ConnectionKind,
  principals: Principals
): string[] {
  const section = policy.document.connections[connection]
  if (!section) return ['no policy covers this connection: every command is blocked']
  const rules = section.rules.filter(
    (rule) => !rule.who || intersects(principals, new Set(rule.who))
  )
  const lines = rules.slice(0, MAX_RULE_LINES).map((rule) => ruleLine(rule, kind))
  if (rules.length > MAX_RULE_LINES) {
    lines.push(`… ${rules.length - MAX_RULE_LINES} more rules`)
  }
  lines.push(
    `${rules.length ? 'anything else' : 'every command'}: ${ACTION_WORDS[section.default]}`
  )
  const masking = maskingLine(section, principals)
  if (masking) lines.push(masking)
  return lines
}

function ruleLine(rule: Rule, kind: ConnectionKind): string {
  const reason = rule.reason ? `: ${truncate(rule.reason, MAX_REASON_CHARS)}` : ''
  const approvers =
    rule.action === 'require_approval' && rule.approvers ? ` by ${rule.approvers.join(' or ')}` : ''
  return `${ACTION_WORDS[rule.action]}${approvers}: ${matchWords(rule, kind)} (rule ${rule.name}${reason})`
}

function matchWords(rule: Rule, kind: ConnectionKind): string {
  const match: MatchWords = rule.match ?? {}
  const { methods, paths, classes, tables, functions, programs, options, args } = match
  if (methods || paths) {
    const verbs = methods ? `${methods.join(', ')} requests` : 'any request'
    return paths ? `${verbs} to ${paths.join(', ')}` : verbs
  }
  if (!classes && !tables && !functions && !programs && !options && !args) return 'every command'
  // An allow rule is a limit (every name must match); the others trip on any one name.
  const limit = rule.action === 'allow'
  const shell =
    kind === 'ssh' || programs !== undefined || options !== undefined || args !== undefined
  const words = shell ? SHELL_CLASS_WORDS : SQL_CLASS_WORDS
  const parts = [
    classes
      ? classes.map((name) => words[name] ?? name).join(', ')
      : shell
        ? 'commands'
        : 'statements',
  ]
  if (tables) parts.push(`${limit ? 'only on' : 'touching'} ${tables.join(', ')}`)
  if (functions) parts.push(`${limit ? 'calling only' : 'calling'} ${functions.join(', ')}`)
  if (programs) parts.push(`${limit ? 'running only' : 'running'} ${programs.join(', ')}`)
  if (options) parts.push(`${limit ? 'with only options' : 'with option'} ${options.join(', ')}`)
  if (args) parts.push(`${limit ? 'only on' : 'on'} ${args.join(', ')}`)
  return parts.join(' ')
}

function maskingLine(section: ConnectionPolicy, principals: Principals): string | undefined {
  const masking = section.masking
  if (!masking) return undefined
  if (masking.exempt && intersects(principals, new Set(masking.exempt))) {
    return 'values are shown to you unmasked (transcripts stay masked)'
  }
  const applies = (rule: (typeof masking.columns)[string] | undefined) =>
    rule !== undefined &&
    (typeof rule === 'string' || !rule.exempt || !intersects(principals, new Set(rule.exempt)))
  const columns = Object.keys(masking.columns).filter((name) => applies(masking.columns[name]))
  const paths = Object.keys(masking.paths).filter((name) => applies(masking.paths[name]))
  const detectors = Object.keys(masking.detectors).filter((name) =>
    applies(masking.detectors[name as keyof typeof masking.detectors])
  )
  const parts = [
    columns.length ? `columns ${columns.join(', ')}` : '',
    paths.length ? `JSON paths ${paths.join(', ')}` : '',
    detectors.length ? `values found by detectors (${detectors.join(', ')})` : '',
  ].filter(Boolean)
  return parts.length ? `masked in results: ${parts.join('; ')}` : undefined
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
