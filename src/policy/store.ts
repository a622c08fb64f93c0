/**
 * Policy versions in D1. Every apply inserts a new version atomically (optionally only
 * if the caller saw the latest one); the highest version is in force. Compiled policy is
 * cached per isolate by version, so a request costs one small head query.
 */
import { desc, eq, sql } from 'drizzle-orm'
import type { Database } from '../db/client.ts'
import { policyVersions } from '../db/schema.ts'
import { sha256Hex } from '../encoding.ts'
import { GatehouseError } from '../errors.ts'
import { type CompiledPolicy, compilePolicy } from './compile.ts'
import { EMPTY_POLICY, PolicyDocument } from './document.ts'

export type PolicyHead = { version: number; sha256: string } | undefined

const NO_POLICY = compilePolicy(EMPTY_POLICY, 0, '')
let cached: CompiledPolicy = NO_POLICY

/** The query for the version in force, for batching with other per-request reads. */
export function policyHeadQuery(db: Database) {
  return db
    .select({ version: policyVersions.version, sha256: policyVersions.sha256 })
    .from(policyVersions)
    .orderBy(desc(policyVersions.version))
    .limit(1)
}

/** The compiled policy for a head read in the same request. */
export async function compiledPolicyAt(db: Database, head: PolicyHead): Promise<CompiledPolicy> {
  if (!head) return NO_POLICY
  if (cached.version === head.version && cached.sha256 === head.sha256) return cached
  const row = await db
    .select({ document: policyVersions.document })
    .from(policyVersions)
    .where(eq(policyVersions.version, head.version))
    .get()
  if (!row) return NO_POLICY
  const compiled = compilePolicy(PolicyDocument.parse(row.document), head.version, head.sha256)
  // Versions only grow; never let a slow reader replace a newer cache entry.
  if (compiled.version >= cached.version) cached = compiled
  return compiled
}

export async function currentPolicy(db: Database): Promise<CompiledPolicy> {
  const [head] = await policyHeadQuery(db)
  return compiledPolicyAt(db, head)
}

export type AppliedPolicy = { version: number; sha256: string }

/**
 * Stores `document` as the next version. With `expectedVersion`, refuses with
 * `policy.conflict` unless that is still the version in force.
 */
export async function applyPolicy(
  db: Database,
  input: {
    document: PolicyDocument
    source: string
    format: 'json' | 'yaml'
    appliedBy: string
    comment: string
    expectedVersion: number | undefined
  },
  now: number
): Promise<AppliedPolicy> {
  const json = JSON.stringify(input.document)
  const digest = await sha256Hex(json)
  const guard =
    input.expectedVersion === undefined
      ? sql``
      : sql`HAVING coalesce(max(${policyVersions.version}), 0) = ${input.expectedVersion}`
  // One statement, so two concurrent applies can never both take the same version.
  const row = await db.get<{ version: number } | undefined>(sql`
    INSERT INTO ${policyVersions} (version, document, source, format, sha256, applied_by, applied_at, comment)
    SELECT coalesce(max(${policyVersions.version}), 0) + 1, ${json}, ${input.source}, ${input.format},
           ${digest}, ${input.appliedBy}, ${now}, ${input.comment}
    FROM ${policyVersions} ${guard}
    RETURNING version`)
  if (!row) {
    throw new GatehouseError(
      'policy.conflict',
      `The policy changed since version ${input.expectedVersion}; fetch it again and re-apply.`
    )
  }
  return { version: row.version, sha256: digest }
}

export async function policyVersion(db: Database, version?: number) {
  const query = db.select().from(policyVersions)
  return version === undefined
    ? query.orderBy(desc(policyVersions.version)).limit(1).get()
    : query.where(eq(policyVersions.version, version)).get()
}

export async function listPolicyVersions(db: Database, limit: number) {
  return db
    .select({
      version: policyVersions.version,
      sha256: policyVersions.sha256,
      appliedBy: policyVersions.appliedBy,
      appliedAt: policyVersions.appliedAt,
      comment: policyVersions.comment,
    })
    .from(policyVersions)
    .orderBy(desc(policyVersions.version))
    .limit(limit)
    .all()
}
