/**
 * The shared vocabulary of the request path. Protocol adapters translate their traffic
 * into these types; identity, policy, approvals, masking and the recorder only ever see
 * these, never a wire format.
 */

/** Who is calling, after authentication. */
export type Caller = {
  /** Stable principal id: `agent:<name>`, `user:<sub>` or `admin:bootstrap`. */
  id: string
  /** What policy matches: the agent name, or the user's subject. */
  name: string
  via: 'agent_token' | 'oidc' | 'admin_token'
  /** User's e-mail claim, when the IdP sent one; policy may name users by it. */
  email?: string
  /** Groups asserted by the IdP (OIDC groups claim); agent tokens have none. */
  idpGroups: readonly string[]
  /** Connection names this credential is limited to; `*` means any the policy grants. */
  scope: readonly string[]
  /** The agent token's id, for revocation and the audit trail. */
  tokenId?: string
  /** Who the agent token belongs to: never an approver of its commands. */
  owner?: string
  issuer?: string
}

export type ConnectionKind = 'http' | 'postgres' | 'mysql' | 'ssh'

/** A target as the pipeline needs it: never carries the credential in clear. */
export type ConnectionRef = {
  id: string
  name: string
  kind: ConnectionKind
}

/**
 * A classified command. Each protocol's classifier produces one kind; policy matches
 * on these fields.
 */
export type Command = HttpCommand | SqlCommand | ShellCommand

export type HttpCommand = {
  kind: 'http'
  method: string
  /** Canonical decoded path relative to the connection's base, always starting with `/`. */
  path: string
  /** Raw query string without `?`, as forwarded. */
  query: string
  /** The caller's headers with secret-looking values redacted (recorded, not matched). */
  headers: Record<string, string>
  body: BodyRecord | null
}

/** A request body as recorded: whole when small, else its size (and hash once streamed). */
export type BodyRecord = {
  bytes: number
  sha256?: string
  text?: string
  base64?: string
  streamed?: boolean
}

/**
 * What a statement does, coarsely (ordered by risk in policy/sql/classes.ts). `unknown` is
 * what the classifier could not see through (unparseable input, dynamic SQL, opaque
 * procedures): it is the riskiest, so policy fails closed on it.
 */
export type SqlClass =
  | 'read'
  | 'write'
  | 'ddl'
  | 'privilege'
  | 'admin'
  | 'transaction'
  | 'session'
  | 'copy'
  | 'utility'
  | 'unknown'

/** One parsed SQL statement, as policy sees it and the transcript records it. */
export type SqlStatement = {
  /** The statement's own text (sliced from the input using the parser's locations). */
  text: string
  class: SqlClass
  /** Parser node type, e.g. 'SelectStmt', 'DeleteStmt'. */
  kind: string
  /**
   * Whether it may change anything persistent: rows, sequences, large objects, schema,
   * roles, server files or configuration. Row locks count (Postgres writes them into the
   * rows). Unknown statements are assumed to.
   */
  writes: boolean
  /**
   * Relations referenced, lower-cased unless quoted, schema-qualified when written so:
   * 'users', 'public.users', 'pg_catalog.pg_authid'. Includes CTE bodies, subqueries, joins,
   * views by name, and relations created or dropped; not CTE names. A name part containing
   * `.` or `"` is double-quoted so it cannot pass for a qualified name.
   */
  tables: string[]
  /** Functions called, named like tables. Includes procedures (CALL) and trigger functions. */
  functions: string[]
  /** Why it is riskier than its class says: 'writable CTE', 'dynamic SQL (DO block)', … */
  risks: string[]
}

/**
 * SQL sent as one unit (a simple Query message, an extended-protocol Execute, or the
 * JSON API): every statement in it, decided together.
 */
export type SqlCommand = {
  kind: 'sql'
  text: string
  statements: SqlStatement[]
  /** Bound parameters as recorded (text, or base64 for binary), when there are any. */
  params?: (string | null)[]
  /** How it arrived: `simple` Query, `extended` Parse/Bind/Execute, or the JSON `api`. */
  via: 'simple' | 'extended' | 'api'
}

/**
 * What a simple shell command does, coarsely (ordered by risk in policy/shell/classes.ts).
 * `interactive` is a whole terminal session (the SSH `shell` request), decided once;
 * `code` runs code the gateway cannot see (interpreters, `eval`, `source`); `unknown` is
 * what the parser could not understand, and policy fails closed on it.
 */
export type ShellClass =
  | 'read'
  | 'write'
  | 'process'
  | 'network'
  | 'privilege'
  | 'admin'
  | 'code'
  | 'interactive'
  | 'unknown'

/** One simple command of a command line, after wrappers (`sudo`, `env`, `sh -c`) are peeled. */
export type ShellSimpleCommand = {
  /** The simple command's own text, as written. */
  text: string
  /** Program basename (`/usr/bin/rm` → `rm`); '' for an interactive shell. */
  program: string
  /** Words after the program, quotes removed; words with expansions kept as written. */
  args: string[]
  /** Option names: `-rf` → `r`, `f`; `--force` and `--force=yes` → `force`. */
  options: string[]
  /** Arguments that are not options (paths, units, hosts, …). */
  operands: string[]
  class: ShellClass
  /** Whether it may change anything: files (incl. `>` redirections), services, users, … */
  writes: boolean
  /** The wrappers peeled to reach it, outermost first: `['sudo', 'sh -c']`. */
  via: string[]
  /** Why it is riskier than its class says: 'command substitution', 'redirects to /etc/passwd', … */
  risks: string[]
}

/** A shell command line (exec) or an interactive shell request, decided as one unit. */
export type ShellCommand = {
  kind: 'shell'
  /** The command line as sent; '' for an interactive shell. */
  text: string
  /** Every simple command the line runs, in order, substitutions and subshells included. */
  commands: ShellSimpleCommand[]
  /** What was sent on stdin with the command, as recorded. */
  stdin?: BodyRecord
  /** `api`: the exec API or MCP; `exec`: an SSH client's exec request; `shell`: a terminal. */
  via: 'api' | 'exec' | 'shell'
}

export type PolicyAction = 'allow' | 'block' | 'require_approval'

/** What the policy says about one command. */
export type Decision = {
  action: PolicyAction
  /** The rule that fired, or null when the connection's default applied. */
  rule: { index: number; name: string } | null
  reason: string
  /** Policy subjects whose members may approve, for `require_approval`. */
  approvers?: readonly string[]
  /** How long the approval may wait, when the rule says (else the gateway's default). */
  expiresAfterSeconds?: number
  /** For multi-statement SQL: what each statement alone would get. */
  statements?: { index: number; action: PolicyAction; rule: string | null }[]
}

/** How a forwarded (or refused) command ended, as recorded in the transcript. */
export type Outcome = {
  status: 'ok' | 'blocked' | 'refused' | 'error'
  /** Protocol-specific summary (HTTP status, row count, exit code, ...). */
  summary: Record<string, unknown>
  errorCode?: string
  bytesUp?: number
  bytesDown?: number
  durationMs?: number
}
