/**
 * The vocabulary of SQL classification: what policy matches on and what the transcript
 * records for every statement, whichever protocol (psql over the tunnel, a driver, the JSON
 * API, MCP) carried it.
 */

/**
 * What a statement does, coarsely. `unknown` is what the classifier could not see through
 * (unparseable input, dynamic SQL, opaque procedures): it is the riskiest, so policy fails
 * closed on it.
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

/**
 * Total order of riskiness, for policy ("at most write") and for summarising a batch by its
 * riskiest statement. Transaction control and session settings change nothing stored;
 * utilities (EXPLAIN, VACUUM, PREPARE) take locks and resources but change no rows; COPY
 * moves whole tables in or out; then writes, schema changes, privilege changes, server
 * administration, and what cannot be seen through.
 */
export const SQL_CLASS_RISK: Record<SqlClass, number> = {
  read: 0,
  transaction: 1,
  session: 2,
  utility: 3,
  copy: 4,
  write: 5,
  ddl: 6,
  privilege: 7,
  admin: 8,
  unknown: 9,
}

/** The riskier of two classes (the first on a tie). */
export function riskier(a: SqlClass, b: SqlClass): SqlClass {
  return SQL_CLASS_RISK[b] > SQL_CLASS_RISK[a] ? b : a
}

/** One statement of a batch, as classified. */
export type StatementInfo = {
  /** The statement's own text (sliced from the input using the parser's locations). */
  text: string
  class: SqlClass
  /** Parser node type, e.g. 'SelectStmt', 'DeleteStmt', for the transcript. */
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
   * views by name, and relations created or dropped. Excludes CTE names themselves. A name
   * part containing `.` or `"` is double-quoted so it cannot pass for a qualified name.
   */
  tables: string[]
  /**
   * Functions called, lower-cased unless quoted, schema-qualified when written so:
   * 'pg_read_file', 'pg_catalog.pg_sleep'. Includes procedures (CALL) and trigger functions.
   */
  functions: string[]
  /**
   * Why this statement is risky beyond its class, e.g. 'copy to program', 'dangerous
   * function pg_read_file', 'writable CTE', 'dynamic SQL (DO block)'.
   */
  risks: string[]
}

/**
 * A classified batch. On failure there is exactly one statement, the whole input, of class
 * `unknown`: a batch that is only partly understood must not be forwarded piecemeal.
 */
export type Classification =
  | { ok: true; statements: StatementInfo[] }
  | { ok: false; error: string; statements: StatementInfo[] }
