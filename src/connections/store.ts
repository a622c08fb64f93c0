/** Connections in D1. Reads never return the credential; it is opened only to forward. */
import { asc, eq } from 'drizzle-orm'
import type { Database } from '../db/client.ts'
import { connections } from '../db/schema.ts'
import { toBase64Url } from '../encoding.ts'
import { GatehouseError } from '../errors.ts'
import type { ConnectionRef } from '../pipeline/types.ts'
import { type ConnectionInput, targetEndpoint } from './connection.ts'
import { openCredential, sealCredential } from './credential-seal.ts'

export type ConnectionRow = typeof connections.$inferSelect

export type ConnectionView = ConnectionRef & {
  target: unknown
  description: string
  hasCredential: boolean
  createdAt: number
  updatedAt: number
}

export function viewConnection(row: ConnectionRow): ConnectionView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    target: row.target,
    description: row.description,
    hasCredential: row.credential !== null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  }
}

/** The lookup by name, for batching with other per-request reads. */
export function connectionByNameQuery(db: Database, name: string) {
  return db.select().from(connections).where(eq(connections.name, name)).limit(1)
}

export async function getConnection(
  db: Database,
  name: string
): Promise<ConnectionRow | undefined> {
  const [row] = await connectionByNameQuery(db, name)
  return row
}

export function listConnections(db: Database): Promise<ConnectionRow[]> {
  return db.select().from(connections).orderBy(asc(connections.name)).all()
}

/** Creates or replaces a connection. An omitted credential keeps the stored one. */
export async function putConnection(
  db: Database,
  name: string,
  input: ConnectionInput,
  credentialsKey: Uint8Array,
  now: number
): Promise<{ row: ConnectionRow; created: boolean }> {
  const existing = await getConnection(db, name)
  const id = existing?.id ?? `con_${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`
  if (input.credential === undefined && existing?.credential && !input.moveCredential) {
    const before =
      existing.kind === input.kind ? targetEndpoint(existing.kind, existing.target) : null
    const after = targetEndpoint(input.kind, input.target)
    if (before !== after) {
      throw new GatehouseError(
        'request.invalid',
        `Connection "${name}" holds a credential for ${before ?? `a ${existing.kind} target`}; to use it with ${after}, send the credential again, send "credential": null to drop it, or confirm with "moveCredential": true.`
      )
    }
  }
  const credential =
    input.credential === undefined
      ? (existing?.credential ?? null)
      : input.credential === null
        ? null
        : await sealCredential(credentialsKey, id, input.credential)
  const row: ConnectionRow = {
    id,
    name,
    kind: input.kind,
    target: input.target,
    credential,
    description: input.description,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  }
  await db
    .insert(connections)
    .values(row)
    .onConflictDoUpdate({
      target: connections.name,
      // A concurrent create sealed its credential under its own id; keep id and seal together.
      set: {
        id: row.id,
        kind: row.kind,
        target: row.target,
        credential: row.credential,
        description: row.description,
        updatedAt: row.updatedAt,
      },
    })
  return { row, created: existing === undefined }
}

export async function deleteConnection(db: Database, name: string): Promise<boolean> {
  const deleted = await db
    .delete(connections)
    .where(eq(connections.name, name))
    .returning({ id: connections.id })
  return deleted.length > 0
}

/** Decrypts the stored credential, or returns null when the connection has none. */
export async function openConnectionCredential(
  row: ConnectionRow,
  credentialsKey: Uint8Array
): Promise<unknown> {
  return row.credential === null ? null : openCredential(credentialsKey, row.id, row.credential)
}
