/**
 * The vocabulary of SQL classification: what policy matches on and what the transcript
 * records for every statement, whichever protocol (psql over the tunnel, a driver, the JSON
 * API, MCP) carried it.
 */

import type { SqlClass, SqlStatement } from '../../pipeline/types.ts'

export type { SqlClass }

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

/** One statement of a batch, as classified (the pipeline's own type). */
export type StatementInfo = SqlStatement

/**
 * A classified batch. On failure there is exactly one statement, the whole input, of class
 * `unknown`: a batch that is only partly understood must not be forwarded piecemeal.
 */
export type Classification =
  | { ok: true; statements: StatementInfo[] }
  | { ok: false; error: string; statements: StatementInfo[] }
