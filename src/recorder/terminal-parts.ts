/**
 * The parts of a session's terminal recordings as R2 lists them (`<prefix>terminal-<n>/
 * 000000.cast`, …), with the SHA-256 R2 computed when each was written. Read by the
 * console's player and by the admin API that hands the parts to `gatehouse verify`.
 */
import { toHex } from '../encoding.ts'
import { TERMINAL_PREFIX } from './transcript-keys.ts'

/** Listing pages read for one session's terminals (1,000 keys each). */
const MAX_LIST_PAGES = 20

const PART_KEY = new RegExp(`^${TERMINAL_PREFIX}(\\d{1,6})/(\\d{6})\\.cast$`)

export type TerminalPart = {
  key: string
  terminal: number
  part: number
  size: number
  /** The SHA-256 R2 computed when the part was written (hex), when it was given one. */
  sha256?: string
}

/** Every part under `listPrefix` (a session's, or one terminal's), in key order. */
export async function listTerminalParts(
  bucket: R2Bucket,
  listPrefix: string,
  sessionPrefix: string
): Promise<TerminalPart[]> {
  const parts: TerminalPart[] = []
  let cursor: string | undefined
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const listed = await bucket.list({ prefix: listPrefix, ...(cursor ? { cursor } : {}) })
    for (const object of listed.objects) {
      const match = PART_KEY.exec(object.key.slice(sessionPrefix.length))
      if (!match) continue
      parts.push({
        key: object.key,
        terminal: Number(match[1]),
        part: Number(match[2]),
        size: object.size,
        ...sha256Of(object),
      })
    }
    cursor = listed.truncated ? listed.cursor : undefined
    if (!cursor) break
  }
  return parts
}

function sha256Of(object: R2Object): { sha256?: string } {
  const digest = object.checksums.sha256
  return digest ? { sha256: toHex(new Uint8Array(digest)) } : {}
}
