/**
 * Locks: a locked agent, user, agent token or connection has all its traffic refused
 * until unlocked. The check costs no round trip of its own: `locksQuery` joins the session
 * opener's one D1 batch, and `findLock` matches its rows against the authenticated caller.
 */
import { asc, eq, inArray, or, sql } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import type { Database } from '../db/client.ts'
import { agentTokens, locks } from '../db/schema.ts'
import { GatehouseError } from '../errors.ts'
import type { BearerCredential } from '../identity/authenticate.ts'
import type { Caller } from '../pipeline/types.ts'

export type LockRow = typeof locks.$inferSelect

/** The kinds of subject a lock can name, as `<kind>:<value>`. */
export const LOCK_KINDS = ['agent', 'user', 'token', 'connection'] as const
export type LockKind = (typeof LOCK_KINDS)[number]

export function lockKindOf(subject: string): LockKind | undefined {
  const kind = subject.slice(0, subject.indexOf(':'))
  return (LOCK_KINDS as readonly string[]).includes(kind) ? (kind as LockKind) : undefined
}

/**
 * The locks that could apply to a session, read in the opener's batch. An agent token's
 * name and id come from the token row in the same statement (a subquery by hash); a JWT's
 * subject and e-mail are read from its claims before verification, which only chooses
 * the rows to read: `findLock` matches the verified caller.
 */
export function locksQuery(db: Database, credential: BearerCredential, connectionName: string) {
  const subjects = [`connection:${connectionName}`]
  if (credential.kind === 'jwt') subjects.push(...claimedUserSubjects(credential.token))
  const named = inArray(locks.subject, subjects)
  const hash = credential.kind === 'agent_token' ? credential.hash : undefined
  return db
    .select()
    .from(locks)
    .where(
      hash === undefined
        ? named
        : or(
            named,
            sql`${locks.subject} in (select 'agent:' || ${agentTokens.name} from ${agentTokens} where ${agentTokens.tokenHash} = ${hash} union all select 'token:' || ${agentTokens.id} from ${agentTokens} where ${agentTokens.tokenHash} = ${hash})`
          )
    )
}

/** The lock that refuses this caller on this connection, if any. */
export function findLock(
  rows: readonly LockRow[],
  caller: Caller,
  connectionName: string
): LockRow | undefined {
  if (rows.length === 0) return undefined
  const subjects = new Set([`connection:${connectionName}`, ...callerLockSubjects(caller)])
  return rows.find((row) => subjects.has(row.subject))
}

/** Every lock subject that names this caller: `agent:`, `token:`, `user:` (subject and e-mail). */
export function callerLockSubjects(caller: Caller): string[] {
  if (caller.via === 'agent_token') {
    return [`agent:${caller.name}`, ...(caller.tokenId ? [`token:${caller.tokenId}`] : [])]
  }
  if (caller.via === 'oidc') {
    return [`user:${caller.name}`, ...(caller.email ? [`user:${caller.email}`] : [])]
  }
  return []
}

/** The refusal: who or what is locked is said, the reason and who locked it are not. */
export function lockedError(lock: LockRow): GatehouseError {
  const kind = lockKindOf(lock.subject)
  const message =
    kind === 'connection'
      ? `Connection "${lock.subject.slice('connection:'.length)}" is locked by an administrator; its traffic is refused until it is unlocked.`
      : 'This caller is locked by an administrator; its traffic is refused until it is unlocked.'
  return new GatehouseError('access.locked', message, {
    detail: `${lock.subject} locked by ${lock.lockedBy} at ${new Date(lock.lockedAt).toISOString()}: ${lock.reason || 'no reason given'}`,
  })
}

export function listLocks(db: Database): Promise<LockRow[]> {
  return db.select().from(locks).orderBy(asc(locks.subject)).all()
}

/** Locks `subject`; an existing lock is kept as it was (its time, author and reason). */
export async function putLock(
  db: Database,
  lock: LockRow
): Promise<{ row: LockRow; created: boolean }> {
  const [inserted] = await db.insert(locks).values(lock).onConflictDoNothing().returning()
  if (inserted) return { row: inserted, created: true }
  const existing = await getLock(db, lock.subject)
  if (!existing) throw new Error(`lock ${lock.subject} vanished while it was written`)
  return { row: existing, created: false }
}

export function getLock(db: Database, subject: string): Promise<LockRow | undefined> {
  return db.select().from(locks).where(eq(locks.subject, subject)).get()
}

/** Unlocks `subject`; the removed lock, or undefined if it was not locked. */
export async function removeLock(db: Database, subject: string): Promise<LockRow | undefined> {
  const [removed] = await db.delete(locks).where(eq(locks.subject, subject)).returning()
  return removed
}

/** `user:<sub>` and `user:<email>` as the token claims them, unverified; none if unreadable. */
function claimedUserSubjects(token: string): string[] {
  try {
    const claims = decodeJwt(token)
    const subjects: string[] = []
    if (typeof claims.sub === 'string') subjects.push(`user:${claims.sub}`)
    if (typeof claims.email === 'string') subjects.push(`user:${claims.email}`)
    return subjects
  } catch {
    return []
  }
}
