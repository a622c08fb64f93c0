/**
 * The class of each kind of top-level statement, from its parse node. Statements that run a
 * query (EXPLAIN ANALYZE, COPY (query), PREPARE, DECLARE, CREATE TABLE AS) take on the class
 * of that query too. Node types not named here are `unknown`: a newer grammar's statement
 * fails closed until someone decides what it is.
 */
import type { Node } from 'libpg-query'
import { constantText, hasOption, type NodeFields, unwrap } from './ast.ts'
import { riskier, type SqlClass } from './classes.ts'
import type { References } from './references.ts'
import { judgeAlterFunction, judgeCreateFunction, judgeDo } from './routines.ts'
import { type Effect, setStatementEffect } from './settings.ts'

/** A statement's own verdict, before the effects of the functions it calls. */
export type StatementVerdict = {
  class: SqlClass
  writes: boolean
  risks: string[]
  /** What an EXECUTE resolved to adds its relations and functions. */
  tables?: string[]
  functions?: string[]
}

/** Looks up what a prepared statement of this name does, when the session knows it. */
export type PreparedLookup = (name: string) => StatementVerdict | undefined

const SESSION = new Set([
  'VariableShowStmt',
  'DiscardStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'ClosePortalStmt',
])

const PRIVILEGE = new Set([
  'GrantStmt',
  'GrantRoleStmt',
  'AlterDefaultPrivilegesStmt',
  'DropRoleStmt',
  'ReassignOwnedStmt',
  'DropOwnedStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'SecLabelStmt',
  'AlterOwnerStmt',
])

/** Superuser territory: server configuration, code loading, other servers, the filesystem. */
const ADMIN = new Set([
  'AlterSystemStmt',
  'LoadStmt',
  'CheckPointStmt',
  'CreateExtensionStmt',
  'AlterExtensionStmt',
  'AlterExtensionContentsStmt',
  'CreatePLangStmt',
  'CreateEventTrigStmt',
  'AlterEventTrigStmt',
  'CreateTableSpaceStmt',
  'DropTableSpaceStmt',
  'AlterTableSpaceOptionsStmt',
  'CreateFdwStmt',
  'AlterFdwStmt',
  'CreateForeignServerStmt',
  'AlterForeignServerStmt',
  'CreateUserMappingStmt',
  'AlterUserMappingStmt',
  'DropUserMappingStmt',
  'ImportForeignSchemaStmt',
  'CreateSubscriptionStmt',
  'AlterSubscriptionStmt',
  'DropSubscriptionStmt',
  'CreateAmStmt',
])

const DDL = new Set([
  'CreateStmt',
  'AlterDomainStmt',
  'DefineStmt',
  'TruncateStmt',
  'CommentStmt',
  'IndexStmt',
  'ViewStmt',
  'CreateDomainStmt',
  'CreatedbStmt',
  'DropdbStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'CreateTrigStmt',
  'CreateSchemaStmt',
  'AlterDatabaseStmt',
  'AlterDatabaseRefreshCollStmt',
  'CreateConversionStmt',
  'CreateCastStmt',
  'CreateOpClassStmt',
  'CreateOpFamilyStmt',
  'AlterOpFamilyStmt',
  'AlterObjectDependsStmt',
  'AlterObjectSchemaStmt',
  'AlterOperatorStmt',
  'AlterTypeStmt',
  'CompositeTypeStmt',
  'CreateEnumStmt',
  'CreateRangeStmt',
  'AlterEnumStmt',
  'AlterTSDictionaryStmt',
  'AlterTSConfigurationStmt',
  'AlterTableMoveAllStmt',
  'CreateForeignTableStmt',
  'CreatePublicationStmt',
  'AlterPublicationStmt',
  'CreateTransformStmt',
  'CreateStatsStmt',
  'AlterStatsStmt',
  'AlterCollationStmt',
])

/** DROP of these is administration (extensions, languages, servers), of policies privilege. */
const ADMIN_OBJECTS = new Set([
  'OBJECT_EXTENSION',
  'OBJECT_LANGUAGE',
  'OBJECT_FDW',
  'OBJECT_FOREIGN_SERVER',
  'OBJECT_EVENT_TRIGGER',
  'OBJECT_ACCESS_METHOD',
])
const PRIVILEGE_OBJECTS = new Set(['OBJECT_ROLE', 'OBJECT_POLICY'])

const PRIVILEGE_TABLE_COMMANDS = new Set([
  'AT_ChangeOwner',
  'AT_EnableRowSecurity',
  'AT_DisableRowSecurity',
  'AT_ForceRowSecurity',
  'AT_NoForceRowSecurity',
])
const DISABLING_TABLE_COMMANDS = new Set([
  'AT_DisableTrig',
  'AT_DisableTrigAll',
  'AT_DisableTrigUser',
  'AT_DisableRule',
])

/** Role attributes worth a line in the transcript when granted. */
const POWERFUL_ROLE_ATTRIBUTES = new Set(['superuser', 'createrole', 'replication', 'bypassrls'])

const verdict = (cls: SqlClass, writes: boolean, risks: string[] = []): StatementVerdict => ({
  class: cls,
  writes,
  risks,
})

const fromEffect = (effect: Effect): StatementVerdict =>
  verdict(effect.class, effect.writes, effect.risk ? [effect.risk] : [])

/** The verdict on one top-level statement (a wrapped node) with its collected references. */
export function judgeStatement(
  statement: Node,
  references: References,
  prepared: PreparedLookup
): StatementVerdict {
  const node = unwrap(statement)
  if (!node) return verdict('unknown', true, ['unrecognised statement'])
  const { type, fields } = node
  switch (type) {
    case 'SelectStmt':
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return judgeQuery(type, references)
    case 'TransactionStmt':
      return String(fields.kind).includes('PREPARE')
        ? verdict('transaction', false, ['two-phase commit'])
        : verdict('transaction', false)
    case 'ConstraintsSetStmt':
      return verdict('transaction', false)
    case 'VariableSetStmt':
      return fromEffect(setStatementEffect(fields))
    case 'AlterRoleSetStmt':
    case 'AlterDatabaseSetStmt': {
      // Applies the setting to every later session of that role or database.
      const effect = setStatementEffect((fields.setstmt as NodeFields | undefined) ?? {})
      return verdict(
        riskier(type === 'AlterRoleSetStmt' ? 'privilege' : 'ddl', effect.class),
        true,
        effect.risk ? [effect.risk] : []
      )
    }
    case 'FetchStmt':
      // The cursor's query was classified when it was declared.
      return verdict('read', false)
    case 'DeclareCursorStmt':
      return judgeInner(fields.query, references, prepared) ?? verdict('unknown', true)
    case 'ExplainStmt':
      return judgeExplain(fields, references, prepared)
    case 'CopyStmt':
      return judgeCopy(fields, references, prepared)
    case 'PrepareStmt': {
      // Preparing runs nothing, but says what a later EXECUTE will do.
      const inner = judgeInner(fields.query, references, prepared)
      if (!inner) return verdict('unknown', true)
      return { ...inner, class: riskier('utility', inner.class), writes: false }
    }
    case 'ExecuteStmt':
      return judgeExecute(String(fields.name ?? ''), prepared)
    case 'DeallocateStmt':
      return verdict('utility', false)
    case 'VacuumStmt':
      return hasOption(fields.options, 'full')
        ? verdict('utility', false, ['exclusive lock (VACUUM FULL)'])
        : verdict('utility', false)
    case 'ClusterStmt':
      return verdict('utility', false, ['exclusive lock (CLUSTER)'])
    case 'ReindexStmt':
      return verdict('utility', false)
    case 'LockStmt':
      return verdict('utility', false, ['explicit table lock'])
    case 'RefreshMatViewStmt':
      return verdict('write', true)
    case 'CallStmt':
      // A procedure may run anything, COMMIT included; policy can still allow it by name.
      return verdict('unknown', true, ['procedure call (body not visible)'])
    case 'DoStmt':
      return judgeDo(fields)
    case 'CreateFunctionStmt':
      return judgeCreateFunction(fields)
    case 'AlterFunctionStmt':
      return judgeAlterFunction(fields)
    case 'CreateTableAsStmt': {
      // CREATE TABLE … AS SELECT | EXECUTE, CREATE MATERIALIZED VIEW … AS SELECT.
      const inner = judgeInner(fields.query, references, prepared) ?? verdict('unknown', true)
      return { ...inner, class: riskier('ddl', inner.class), writes: true }
    }
    case 'RuleStmt':
      return verdict('ddl', true, ['rewrite rule'])
    case 'CreateRoleStmt':
    case 'AlterRoleStmt':
      return verdict('privilege', true, powerfulRoleAttributes(fields.options))
    case 'AlterTableStmt':
      return judgeAlterTable(fields)
    case 'DropStmt':
    case 'RenameStmt': {
      const objectType = String(type === 'DropStmt' ? fields.removeType : fields.renameType)
      if (ADMIN_OBJECTS.has(objectType)) return verdict('admin', true)
      if (PRIVILEGE_OBJECTS.has(objectType)) return verdict('privilege', true)
      return verdict('ddl', true)
    }
  }
  if (SESSION.has(type)) return verdict('session', false)
  if (PRIVILEGE.has(type)) return verdict('privilege', true)
  if (ADMIN.has(type)) return verdict('admin', true)
  if (DDL.has(type)) return verdict('ddl', true)
  return verdict('unknown', true, [`unrecognised statement ${type}`])
}

/** SELECT, INSERT, UPDATE, DELETE, MERGE, with what their tree adds. */
function judgeQuery(type: string, references: References): StatementVerdict {
  let cls: SqlClass = type === 'SelectStmt' ? 'read' : 'write'
  const risks: string[] = []
  if (references.nestedWrite) {
    cls = riskier(cls, 'write')
    risks.push('writable CTE')
  }
  if (references.rowLock) {
    // Postgres refuses these in a read-only transaction: locks are written into the rows.
    cls = riskier(cls, 'write')
    risks.push(`row lock (${references.rowLock})`)
  }
  if (references.selectInto) {
    // SELECT … INTO is CREATE TABLE AS by another name.
    cls = riskier(cls, 'ddl')
    risks.push('SELECT INTO creates a table')
  }
  return verdict(cls, cls !== 'read', risks)
}

/** The query inside EXPLAIN, COPY, PREPARE, DECLARE or CREATE TABLE AS. */
function judgeInner(
  query: unknown,
  references: References,
  prepared: PreparedLookup
): StatementVerdict | null {
  if (!unwrap(query)) return null
  return judgeStatement(query as Node, references, prepared)
}

function judgeExplain(
  fields: NodeFields,
  references: References,
  prepared: PreparedLookup
): StatementVerdict {
  const inner = judgeInner(fields.query, references, prepared)
  if (!inner) return verdict('unknown', true)
  // Without ANALYZE the plan is all there is; with it, the statement runs (and commits).
  if (!hasOption(fields.options, 'analyze')) return verdict('utility', false)
  return { ...inner, risks: [...inner.risks, 'EXPLAIN ANALYZE executes the statement'] }
}

function judgeCopy(
  fields: NodeFields,
  references: References,
  prepared: PreparedLookup
): StatementVerdict {
  const direction = fields.is_from ? 'from' : 'to'
  let result: StatementVerdict
  if (fields.is_program) result = verdict('admin', true, [`copy ${direction} program`])
  else if (typeof fields.filename === 'string')
    // Server-side files: the same power as pg_read_server_files / pg_write_server_files.
    result = verdict('admin', true, [`copy ${direction} server file`])
  else result = verdict('copy', fields.is_from === true)
  if (fields.query === undefined) return result
  const inner = judgeInner(fields.query, references, prepared) ?? verdict('unknown', true)
  return verdict(riskier(result.class, inner.class), result.writes || inner.writes, [
    ...result.risks,
    ...inner.risks,
  ])
}

function judgeExecute(name: string, prepared: PreparedLookup): StatementVerdict {
  const known = prepared(name)
  if (!known)
    return verdict('unknown', true, [`EXECUTE of prepared statement ${name} (not visible here)`])
  return { ...known, risks: [...known.risks, `executes prepared statement ${name}`] }
}

function judgeAlterTable(fields: NodeFields): StatementVerdict {
  let cls: SqlClass = 'ddl'
  const risks: string[] = []
  for (const command of (fields.cmds as Node[] | undefined) ?? []) {
    if (!('AlterTableCmd' in command)) continue
    const subtype = String(command.AlterTableCmd.subtype)
    if (PRIVILEGE_TABLE_COMMANDS.has(subtype)) cls = 'privilege'
    if (DISABLING_TABLE_COMMANDS.has(subtype)) risks[0] = 'disables triggers or rules'
  }
  return verdict(cls, true, risks)
}

function powerfulRoleAttributes(options: unknown): string[] {
  const risks: string[] = []
  for (const option of (options as Node[] | undefined) ?? []) {
    if (!('DefElem' in option)) continue
    const name = option.DefElem.defname ?? ''
    if (POWERFUL_ROLE_ATTRIBUTES.has(name) && constantText(option.DefElem.arg) === 'true')
      risks.push(`role attribute ${name}`)
  }
  return risks
}
