/**
 * Deleting transcript objects in R2 in batches, grouped by owner (a session or an
 * approval), so an owner's index row is removed only once all of its objects are gone.
 */

/** R2: `delete(keys)` takes at most 1,000 keys. */
export const R2_DELETE_BATCH = 1_000

export type OwnedKeys = { owner: string; keys: readonly string[] }

export type DeleteResult = {
  /** Owners whose every object is gone. */
  deleted: string[]
  objects: number
  /** The first failure, as R2 worded it. */
  error: string | undefined
}

/**
 * Deletes every owner's keys, 1,000 at a time. A batch that throws, or whose first and
 * last key are still there afterwards (a bucket lock may refuse quietly), fails all of
 * the owners it held keys of.
 */
export async function deleteOwnedObjects(
  bucket: R2Bucket,
  owned: readonly OwnedKeys[]
): Promise<DeleteResult> {
  const batches: { keys: string[]; owners: Set<string> }[] = []
  let current = { keys: [] as string[], owners: new Set<string>() }
  for (const { owner, keys } of owned) {
    for (const key of keys) {
      if (current.keys.length === R2_DELETE_BATCH) {
        batches.push(current)
        current = { keys: [], owners: new Set() }
      }
      current.keys.push(key)
      current.owners.add(owner)
    }
  }
  if (current.keys.length) batches.push(current)

  const failed = new Set<string>()
  let objects = 0
  let error: string | undefined
  for (const batch of batches) {
    try {
      await bucket.delete(batch.keys)
      const ends = [...new Set([batch.keys[0], batch.keys.at(-1)])] as string[]
      const kept = await Promise.all(ends.map((key) => bucket.head(key)))
      if (kept.some((object) => object !== null))
        throw new Error('R2 kept objects it was asked to delete')
      objects += batch.keys.length
    } catch (cause) {
      error ??= cause instanceof Error ? cause.message : String(cause)
      for (const owner of batch.owners) failed.add(owner)
    }
  }
  const deleted = owned.map(({ owner }) => owner).filter((owner) => !failed.has(owner))
  return { deleted, objects, error }
}
