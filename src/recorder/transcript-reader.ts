/** Reads a session's transcript back from R2, chunk by chunk in key order. */

/** All lines of the session's chunks, in order. */
export async function readTranscriptLines(bucket: R2Bucket, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const page = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) })
    keys.push(...page.objects.map((object) => object.key))
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
