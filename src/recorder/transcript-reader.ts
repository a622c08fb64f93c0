/** Reads a session's transcript back from R2, chunk by chunk in key order, and its manifest. */
import { isChunkKey, manifestKey } from './transcript-keys.ts'

/** All lines of the session's chunks, in order. */
export async function readTranscriptLines(bucket: R2Bucket, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) })
    keys.push(...page.objects.map((object) => object.key).filter(isChunkKey))
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  keys.sort()
  const lines: string[] = []
  for (const key of keys) {
    const object = await bucket.get(key)
    if (!object) continue
    for (const line of (await object.text()).split('\n')) if (line) lines.push(line)
  }
  return lines
}

/** The session's signed manifest line exactly as stored; undefined until it closed. */
export async function readManifest(bucket: R2Bucket, prefix: string): Promise<string | undefined> {
  const object = await bucket.get(manifestKey(prefix))
  return object ? await object.text() : undefined
}
