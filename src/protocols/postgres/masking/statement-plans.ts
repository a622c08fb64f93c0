/**
 * Masking for one Postgres session: traces each command's statements against the
 * origin's catalog before it is forwarded, refuses what cannot be masked (a statement
 * that reads sensitive data through columns it cannot trace, copies it elsewhere, or
 * copies it out in binary), and hands the tunnel a ResultMasker for what goes ahead.
 * Cursors and prepared statements declared in SQL are remembered by name.
 */
import { GatehouseError } from '../../../errors.ts'
import type { MaskingProfile } from '../../../masking/profile.ts'
import {
  type ResultLineage,
  type StatementLineage,
  statementLineage,
} from '../../../masking/sql/index.ts'
import type { Command, SqlCommand } from '../../../pipeline/types.ts'
import { parseSqlSync } from '../../../policy/sql/index.ts'
import type { MaskingCatalog } from './catalog.ts'
import { ResultMasker, type StatementPlan } from './result-masker.ts'

/** Statements that name what they read indirectly, so their lineage is always traced. */
const INDIRECT_KINDS = new Set(['FetchStmt', 'ExecuteStmt'])

export class PostgresMasking {
  readonly #profile: MaskingProfile
  readonly #catalog: MaskingCatalog | null
  readonly #plans = new WeakMap<SqlCommand, StatementPlan[] | GatehouseError>()
  readonly #cursors = new Map<string, ResultLineage>()
  readonly #prepared = new Map<string, ResultLineage>()

  /** `catalog` is null when the caller has no sensitive columns (detectors only). */
  constructor(profile: MaskingProfile, catalog: MaskingCatalog | null) {
    this.#profile = profile
    this.#catalog = catalog
  }

  get active(): boolean {
    return this.#profile.active
  }

  /** For the pipeline's vet step: the refusal for a command that cannot be masked. */
  readonly vet = (command: Command): GatehouseError | undefined => {
    if (command.kind !== 'sql') return undefined
    const plan = this.#plan(command)
    return plan instanceof GatehouseError ? plan : undefined
  }

  /** The masker for a forwarded command's responses; undefined when nothing is masked. */
  resultMasker(command: SqlCommand): ResultMasker | undefined {
    if (!this.#profile.active) return undefined
    const plan = this.#plan(command)
    if (plan instanceof GatehouseError) return undefined
    return new ResultMasker(this.#profile, this.#catalog, plan)
  }

  #plan(command: SqlCommand): StatementPlan[] | GatehouseError {
    let plan = this.#plans.get(command)
    if (!plan) {
      plan = this.#trace(command)
      this.#plans.set(command, plan)
    }
    return plan
  }

  #trace(command: SqlCommand): StatementPlan[] | GatehouseError {
    const catalog = this.#catalog
    const needed =
      catalog !== null &&
      command.statements.some(
        (statement) =>
          INDIRECT_KINDS.has(statement.kind) ||
          statement.class === 'unknown' ||
          statement.tables.some((table) => catalog.names.has(bareName(table)))
      )
    if (!catalog || !needed) return command.statements.map(() => ({ lineage: null }))
    const parsed = parseSqlSync(command.text)
    const nodes = parsed.ok ? (parsed.tree.stmts ?? []).map((raw) => raw.stmt) : []
    if (!parsed.ok || nodes.length === 0) {
      return this.#refuseOrMask(command, 'it could not be parsed')
    }
    const plans: StatementPlan[] = []
    for (const node of nodes) {
      const lineage = this.#resolve(statementLineage(node, catalog.lineage))
      const refusal = this.#refusal(lineage)
      if (refusal) return refusal
      plans.push({ lineage })
    }
    return plans
  }

  /** Follows FETCH and EXECUTE to what their cursor or prepared statement was declared as. */
  #resolve(lineage: StatementLineage): StatementLineage {
    if (lineage.declares) {
      const names = lineage.declares.kind === 'cursor' ? this.#cursors : this.#prepared
      names.set(lineage.declares.name, lineage.declares.result)
    }
    const result = lineage.result
    if (result?.kind !== 'cursor' && result?.kind !== 'prepared') return lineage
    const names = result.kind === 'cursor' ? this.#cursors : this.#prepared
    const declared = names.get(result.name)
    if (declared) return { ...lineage, result: declared, touchesSensitive: true }
    return {
      ...lineage,
      result: { kind: 'unknown', reason: `${result.kind} "${result.name}" was not seen declared` },
      touchesSensitive: true,
    }
  }

  #refusal(lineage: StatementLineage): GatehouseError | undefined {
    if (lineage.laundering) {
      return new GatehouseError(
        'masking.laundering',
        `This statement would copy masked data where it is no longer masked (${lineage.laundering}), so it was refused.`
      )
    }
    const declared = lineage.declares?.result
    const unknown =
      lineage.result?.kind === 'unknown'
        ? lineage.result.reason
        : declared?.kind === 'unknown'
          ? declared.reason
          : undefined
    if (lineage.touchesSensitive && unknown && this.#profile.unknownLineage === 'refuse') {
      return lineageRefusal(unknown)
    }
    if (lineage.touchesSensitive && lineage.copyOut?.format === 'binary') {
      return new GatehouseError(
        'masking.binary_copy',
        'Binary COPY of a table with masked columns cannot be masked, so it was refused; use COPY … TO STDOUT in text or CSV format.'
      )
    }
    return undefined
  }

  #refuseOrMask(command: SqlCommand, why: string): StatementPlan[] | GatehouseError {
    if (this.#profile.unknownLineage === 'refuse') return lineageRefusal(why)
    return command.statements.map(() => ({
      lineage: { touchesSensitive: true, result: { kind: 'unknown', reason: why } },
    }))
  }
}

function lineageRefusal(why: string): GatehouseError {
  return new GatehouseError(
    'masking.lineage_unknown',
    `This statement reads masked columns, but Gatehouse cannot tell which result columns carry them (${why}), so it was refused. Select the columns by name.`
  )
}

/** `public.customers` → `customers`; quoted parts keep their quotes (they never match). */
function bareName(table: string): string {
  const dot = table.lastIndexOf('.')
  return dot < 0 || table.endsWith('"') ? table : table.slice(dot + 1)
}
