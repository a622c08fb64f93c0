/**
 * R2 object layout of transcripts: sessions/<yyyy>/<mm>/<dd>/<sessionId>/<chunk>.ndjson,
 * and beside the chunks the signed manifest.json written when the session closes.
 * Date-first keys let retention delete whole days by prefix.
 */

import { toHex } from '../encoding.ts'

const CHUNK_DIGITS = 6
const CHUNK_KEY = /\/\d{6}\.ndjson$/

/** Key prefix (ending in `/`) of one session's chunks, dated by its start. */
export function transcriptPrefix(sessionId: string, startedAt: number): string {
  return `sessions/${datePath(startedAt)}/${sessionId}/`
}

/** Key prefix of one approval's own event log: approvals/<yyyy>/<mm>/<dd>/<approvalId>/. */
export function approvalLogPrefix(approvalId: string, requestedAt: number): string {
  return `approvals/${datePath(requestedAt)}/${approvalId}/`
}

function datePath(at: number): string {
  const date = new Date(at)
  const yyyy = date.getUTCFullYear().toString().padStart(4, '0')
  const mm = (date.getUTCMonth() + 1).toString().padStart(2, '0')
  const dd = date.getUTCDate().toString().padStart(2, '0')
  return `${yyyy}/${mm}/${dd}`
}

/** Key of chunk number `chunk`; zero-padded so keys list in write order. */
export function chunkKey(prefix: string, chunk: number): string {
  return `${prefix}${chunk.toString().padStart(CHUNK_DIGITS, '0')}.ndjson`
}

/** Whether an object key under a transcript prefix is one of its chunks. */
export function isChunkKey(key: string): boolean {
  return CHUNK_KEY.test(key)
}

/** Key of the session's signed closing manifest (src/evidence/manifest.ts). */
export function manifestKey(prefix: string): string {
  return `${prefix}manifest.json`
}

/**
 * Key prefix of one terminal's asciicast v2 recording (an SSH shell or pty exec), beside
 * the chunks: `<prefix>terminal-<n>/`. Its parts (`000000.cast`, `000001.cast`, …) are
 * written as the terminal runs; part 0 starts with the asciicast header line, and the parts
 * concatenated in key order are one asciicast v2 file.
 */
export function terminalPrefix(prefix: string, terminal: number): string {
  return `${prefix}${TERMINAL_PREFIX}${terminal}/`
}

/** What every terminal recording's key starts with, after the session's prefix. */
export const TERMINAL_PREFIX = 'terminal-'

/** Key of one part of a terminal recording. */
export function terminalPartKey(terminalPrefix: string, part: number): string {
  return `${terminalPrefix}${part.toString().padStart(CHUNK_DIGITS, '0')}.cast`
}

/**
 * A new session id: time-ordered (UUIDv7 layout, RFC 9562 §5.7) so ids sort by start,
 * with 74 random bits so they cannot be guessed.
 */
export function newSessionId(now: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let time = now
  for (let i = 5; i >= 0; i--) {
    bytes[i] = time % 256
    time = Math.floor(time / 256)
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = toHex(bytes)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
