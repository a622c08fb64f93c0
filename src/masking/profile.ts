/**
 * A connection's masking rules as they apply to one caller: the policy's `masking` section
 * minus the caller's exemptions, with every strategy bound to the masking key. Built once
 * per session; protocol maskers only read it.
 */
import type { CompiledPolicy } from '../policy/compile.ts'
import type { MaskingPolicy, MaskRule } from '../policy/masking-policy.ts'
import type { Principals } from '../policy/principals.ts'
import { type JsonPath, parseJsonPath } from './json/json-path.ts'
import { deriveMaskingKey, maskFunction, REDACTED } from './strategies.ts'
import { createTextMasker } from './text-masker.ts'
import {
  DETECTOR_NAMES,
  type DetectorName,
  type MaskFunction,
  type MaskReason,
  type MaskStrategy,
  type TextMasker,
} from './types.ts'

/** A sensitive column: `schema` undefined matches the table in any schema. */
export type ColumnMask = {
  schema: string | undefined
  table: string
  column: string
  reason: MaskReason
  strategy: MaskStrategy
}

export type PathMask = { path: JsonPath; reason: MaskReason; mask: MaskFunction }

export type MaskingProfile = {
  /** Whether anything is masked for this caller (false: responses pass untouched). */
  readonly active: boolean
  readonly columns: readonly ColumnMask[]
  readonly paths: readonly PathMask[]
  /** The detectors in force for this caller. */
  readonly text: TextMasker
  /** Their names, as the HTTP masking header reports them. */
  readonly detectors: readonly DetectorName[]
  /** Every detector of the connection, exemptions aside: what transcripts store is masked with it. */
  readonly record: TextMasker
  readonly unknownLineage: 'refuse' | 'mask'
  /** The mask for a value derived from these reasons: the strongest of their strategies. */
  maskFor(reasons: readonly MaskReason[]): MaskFunction
}

/** Masks a value whose origin could not be traced (unknownLineage: mask). */
export const UNKNOWN_LINEAGE_REASON: MaskReason = 'lineage:unknown'

/** Least to most revealing: a value derived from several sources gets the first that applies. */
const STRATEGY_STRENGTH: readonly MaskStrategy[] = ['redact', 'token', 'fake', 'partial']

const NO_DETECTORS: TextMasker = { active: false, mask: (text) => text }

const keys = new WeakMap<Uint8Array, Uint8Array>()

function maskingKey(secret: Uint8Array): Uint8Array {
  let key = keys.get(secret)
  if (!key) {
    key = deriveMaskingKey(secret)
    keys.set(secret, key)
  }
  return key
}

/** The profile for a caller on a connection; an inactive profile when the policy masks nothing. */
export function maskingProfile(
  policy: CompiledPolicy,
  connectionName: string,
  principals: Principals,
  secret: Uint8Array
): MaskingProfile {
  const masking = policy.document.connections[connectionName]?.masking
  if (!masking) return INACTIVE_PROFILE
  const key = maskingKey(secret)
  const exemptAll = isExempt(masking.exempt, principals)
  const applies = (rule: MaskRule) =>
    !exemptAll && (typeof rule === 'string' || !isExempt(rule.exempt, principals))
  const strategyOf = (rule: MaskRule): MaskStrategy =>
    typeof rule === 'string' ? rule : rule.strategy

  const columns: ColumnMask[] = []
  for (const [name, rule] of Object.entries(masking.columns)) {
    if (!applies(rule)) continue
    const parts = name.toLowerCase().split('.')
    const [schema, table, column] = parts.length === 3 ? parts : [undefined, ...parts]
    columns.push({
      schema,
      table: table as string,
      column: column as string,
      reason: `column:${name.toLowerCase()}`,
      strategy: strategyOf(rule),
    })
  }
  const paths: PathMask[] = []
  for (const [text, rule] of Object.entries(masking.paths)) {
    if (!applies(rule)) continue
    paths.push({
      path: parseJsonPath(text),
      reason: `path:${text}`,
      mask: maskFunction(strategyOf(rule), key),
    })
  }
  const detectors = detectorRules(masking, applies)
  const text = detectors.size ? createTextMasker(detectors, key) : NO_DETECTORS
  const recorded = detectorRules(masking, () => true)
  const record = recorded.size ? createTextMasker(recorded, key) : NO_DETECTORS
  const strategies = new Map<MaskReason, MaskStrategy>(
    columns.map((column) => [column.reason, column.strategy])
  )
  const masks = new Map<MaskStrategy, MaskFunction>()
  const maskOf = (strategy: MaskStrategy) => {
    let mask = masks.get(strategy)
    if (!mask) {
      mask = maskFunction(strategy, key)
      masks.set(strategy, mask)
    }
    return mask
  }
  return {
    active: columns.length > 0 || paths.length > 0 || text.active,
    columns,
    paths,
    text,
    detectors: [...detectors.keys()],
    record,
    unknownLineage: masking.unknownLineage,
    maskFor(reasons) {
      const used = new Set(reasons.map((reason) => strategies.get(reason) ?? 'redact'))
      return maskOf(STRATEGY_STRENGTH.find((strategy) => used.has(strategy)) ?? 'redact')
    },
  }
}

/** What masks nothing: connections without a `masking` section. */
export const INACTIVE_PROFILE: MaskingProfile = {
  active: false,
  columns: [],
  paths: [],
  text: NO_DETECTORS,
  detectors: [],
  record: NO_DETECTORS,
  unknownLineage: 'refuse',
  maskFor: () => () => REDACTED,
}

/** Each detector in force and its strategy; `all` covers those not named. */
function detectorRules(
  masking: MaskingPolicy,
  applies: (rule: MaskRule) => boolean
): Map<DetectorName, MaskStrategy> {
  const rules = new Map<DetectorName, MaskStrategy>()
  const fallback = masking.detectors.all
  for (const name of DETECTOR_NAMES) {
    const rule = masking.detectors[name] ?? fallback
    if (rule && applies(rule)) rules.set(name, typeof rule === 'string' ? rule : rule.strategy)
  }
  return rules
}

function isExempt(subjects: readonly string[] | undefined, principals: Principals): boolean {
  return subjects?.some((subject) => principals.has(subject)) ?? false
}
