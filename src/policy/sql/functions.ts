/**
 * Built-in functions that make an innocent-looking SELECT something else: read or write the
 * server's files, control other backends or the server, reach other servers, run SQL hidden
 * in a string, or change data. Matched on the last name part, case-insensitively, whatever
 * the schema: a look-alike in another schema is flagged too (failing closed), and calls of
 * user-defined functions are opaque and left to policy by name.
 */
import type { Node } from 'libpg-query'
import { constantText } from './ast.ts'
import { type Effect, settingEffect } from './settings.ts'

/** Server files and directories (pg_read_server_files, pg_write_server_files, adminpack). */
const FILE_FUNCTIONS = [
  'pg_read_file',
  'pg_read_binary_file',
  'pg_stat_file',
  'pg_ls_dir',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir',
  'pg_ls_replslotdir',
  'pg_logdir_ls',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_file_sync',
  'lo_import',
  'lo_export',
]

/** Other sessions, the server process, backups, WAL and replication. */
const SERVER_FUNCTIONS = [
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_log_backend_memory_contexts',
  'pg_import_system_collations',
  'pg_stat_reset',
  'pg_stat_reset_shared',
  'pg_stat_reset_single_table_counters',
  'pg_stat_reset_single_function_counters',
  'pg_stat_reset_slru',
  'pg_stat_reset_replication_slot',
  'pg_stat_reset_subscription_stats',
  'pg_stat_statements_reset',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_replication_slot_advance',
  // Logical decoding reads every table's changes, whatever the caller may SELECT.
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
  'pg_logical_emit_message',
  'pg_replication_origin_create',
  'pg_replication_origin_drop',
  'pg_replication_origin_advance',
  'pg_replication_origin_session_setup',
  'pg_replication_origin_session_reset',
  'pg_replication_origin_xact_setup',
  'pg_replication_origin_xact_reset',
]

/** Run SQL given as a string, or read relations named in one: invisible to this parser. */
const DYNAMIC_SQL_FUNCTIONS = [
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
]

/** Change sequences or large objects from inside any statement, a SELECT included. */
const WRITE_FUNCTIONS = [
  'nextval',
  'setval',
  'lo_create',
  'lo_creat',
  'lo_unlink',
  'lo_put',
  'lo_from_bytea',
  'lowrite',
  'lo_truncate',
  'lo_truncate64',
]

/** Hold a backend (and its locks) for as long as asked. */
const DELAY_FUNCTIONS = ['pg_sleep', 'pg_sleep_for', 'pg_sleep_until']

const EFFECTS = new Map<string, Effect>()
for (const name of FILE_FUNCTIONS)
  EFFECTS.set(name, {
    class: 'admin',
    writes: name.startsWith('pg_file_') || name === 'lo_export' || name === 'lo_import',
    risk: `dangerous function ${name}`,
  })
for (const name of SERVER_FUNCTIONS)
  EFFECTS.set(name, { class: 'admin', writes: true, risk: `dangerous function ${name}` })
for (const name of DYNAMIC_SQL_FUNCTIONS)
  EFFECTS.set(name, { class: 'unknown', writes: true, risk: `dynamic SQL (function ${name})` })
for (const name of WRITE_FUNCTIONS)
  EFFECTS.set(name, { class: 'write', writes: true, risk: `modifying function ${name}` })
for (const name of DELAY_FUNCTIONS)
  EFFECTS.set(name, { class: 'read', writes: false, risk: `delay function ${name}` })

/**
 * The effect of calling a function, from its last name part and its arguments (for
 * `set_config(name, value, is_local)`, whose effect is that of the setting it changes).
 */
export function functionEffect(
  name: string,
  args: readonly Node[] | undefined
): Effect | undefined {
  const lower = name.toLowerCase()
  // dblink, dblink_exec, dblink_connect_u, ...: SQL sent to another server.
  if (lower.startsWith('dblink'))
    return { class: 'admin', writes: true, risk: `dangerous function ${lower}` }
  if (lower === 'set_config') {
    const setting = constantText(args?.[0])
    if (setting === null)
      return { class: 'admin', writes: false, risk: 'set_config of a computed setting name' }
    const effect = settingEffect(setting.toLowerCase(), constantText(args?.[1]))
    return effect.risk ? { ...effect, risk: `${effect.risk} via set_config` } : effect
  }
  return EFFECTS.get(lower)
}
