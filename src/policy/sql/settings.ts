/**
 * What changing a run-time setting amounts to, for `SET`, `RESET` and `set_config()` alike:
 * most settings only shape the session, but a few change who the session acts as, hide it
 * from the server's own audit trail, load code, or make the server read later SQL
 * differently from this classifier.
 */
import type { Node } from 'libpg-query'
import { constantText, type NodeFields } from './ast.ts'
import type { SqlClass } from './classes.ts'

/** What a statement or call does beyond its own class. */
export type Effect = { class: SqlClass; writes: boolean; risk?: string }

/** Settings that change the acting role: privilege, whatever the value. */
const ROLE_SETTINGS = new Set(['role', 'session_authorization'])

/**
 * Superuser-only settings an agent has no business changing: they load code, disable
 * integrity checks, triggers or foreign keys (`session_replication_role = replica`), or
 * silence the server's logging and statistics (`log_*`, `track_*`, pgaudit).
 */
const ADMIN_SETTINGS = new Set([
  'allow_in_place_tablespaces',
  'allow_system_table_mods',
  'dynamic_library_path',
  'ignore_checksum_failure',
  'ignore_invalid_pages',
  'ignore_system_indexes',
  'jit_provider',
  'lo_compat_privileges',
  'local_preload_libraries',
  'max_stack_depth',
  'session_preload_libraries',
  'session_replication_role',
  'zero_damaged_pages',
])
const ADMIN_SETTING_PREFIXES = ['log_', 'debug_', 'track_', 'pgaudit.']

/**
 * Settings that change how the server tokenises later SQL. This classifier parses as
 * Postgres does with `standard_conforming_strings = on` and UTF-8 input; turn either off
 * and a string such as `'\'; DROP TABLE t; --'` is one statement here and two there.
 */
const PARSER_SETTINGS: Record<string, (value: string) => boolean> = {
  standard_conforming_strings: (value) => ['on', 'true', 'yes', '1'].includes(value),
  client_encoding: (value) => ['utf8', 'utf-8', 'unicode'].includes(value),
}

/**
 * The effect of setting `name` (lower-cased) to `value`: undefined for RESET and
 * `SET … TO DEFAULT`, which return to the server's configured value; null when computed.
 */
export function settingEffect(name: string, value: string | null | undefined): Effect {
  if (ROLE_SETTINGS.has(name)) return { class: 'privilege', writes: false, risk: 'role change' }
  const keepsParserInSync = PARSER_SETTINGS[name]
  if (keepsParserInSync) {
    return value === undefined || (value !== null && keepsParserInSync(value.toLowerCase()))
      ? { class: 'session', writes: false }
      : { class: 'admin', writes: false, risk: `parser differential (${name})` }
  }
  if (ADMIN_SETTINGS.has(name) || ADMIN_SETTING_PREFIXES.some((prefix) => name.startsWith(prefix)))
    return { class: 'admin', writes: false, risk: `sensitive setting ${name}` }
  // Unqualified names (functions, tables) resolve through it.
  if (name === 'search_path') return { class: 'session', writes: false, risk: 'search_path change' }
  return { class: 'session', writes: false }
}

/**
 * The effect of a `VariableSetStmt`: SET, SET LOCAL, RESET, SET … TO DEFAULT, and the same
 * inside ALTER ROLE … SET and ALTER DATABASE … SET, which apply it to every later session.
 */
export function setStatementEffect(fields: NodeFields): Effect {
  const name = String(fields.name ?? '').toLowerCase()
  switch (fields.kind) {
    case 'VAR_SET_MULTI':
      // SET TRANSACTION …, SET TRANSACTION SNAPSHOT …, SET SESSION CHARACTERISTICS AS …
      return { class: name.startsWith('transaction') ? 'transaction' : 'session', writes: false }
    case 'VAR_RESET_ALL':
      // RESET ALL leaves role and session_authorization alone (GUC_NO_RESET_ALL).
      return { class: 'session', writes: false }
    case 'VAR_SET_VALUE': {
      const args = (fields.args as Node[] | undefined) ?? []
      return settingEffect(name, args.length === 1 ? constantText(args[0]) : null)
    }
    default:
      // RESET x, SET x TO DEFAULT, SET x FROM CURRENT: back to a configured value.
      return settingEffect(name, undefined)
  }
}
