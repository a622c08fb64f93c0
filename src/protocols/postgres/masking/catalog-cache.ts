/**
 * The JSON SQL API opens an origin connection per request; reading the catalog on each
 * would double its cost. Catalogs are kept per isolate for a short while, keyed by the
 * connection, the policy version and the caller's sensitive columns.
 */
import type { ColumnMask } from '../../../masking/profile.ts'
import type { GatewaySession } from '../../../pipeline/session.ts'
import type { OriginSession } from '../origin.ts'
import { loadMaskingCatalog, type MaskingCatalog } from './catalog.ts'

/** Long enough to serve a burst of API calls, short enough that a new view is seen soon. */
const CATALOG_TTL_MS = 30_000
const MAX_ENTRIES = 256

const cache = new Map<string, { catalog: Promise<MaskingCatalog>; expires: number }>()

export function cachedMaskingCatalog(
  session: GatewaySession,
  columns: readonly ColumnMask[],
  openOrigin: () => Promise<OriginSession>
): Promise<MaskingCatalog> {
  const key = JSON.stringify([
    session.connection.id,
    session.connection.updatedAt ?? null,
    columns.map((column) => column.reason).sort(),
  ])
  const now = Date.now()
  const hit = cache.get(key)
  if (hit && hit.expires > now) return hit.catalog
  const catalog = (async () => {
    const origin = await openOrigin()
    try {
      return await loadMaskingCatalog(origin, columns)
    } finally {
      await origin.close()
    }
  })()
  // A failed read is not kept: the next request tries again.
  catalog.catch(() => cache.delete(key))
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string)
  cache.set(key, { catalog, expires: now + CATALOG_TTL_MS })
  return catalog
}
