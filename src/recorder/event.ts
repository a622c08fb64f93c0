/**
 * Transcript events: one JSON object per NDJSON line. Every event names the hash of the
 * line before it (`prev`), so removing, editing or reordering lines breaks the chain.
 */
import { z } from 'zod'

export const TRANSCRIPT_VERSION = 1

export const EVENT_TYPES = [
  'session.start',
  'session.detail',
  'access.refused',
  'command',
  'outcome',
  'session.end',
  'admin.action',
  /** A held command's approval changed state (pending, approved, denied, expired, …). */
  'approval',
  /** A part of a terminal recording (asciicast) was stored: its key and SHA-256. */
  'terminal',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

/** The envelope every event has; `data` depends on `type`. */
export const TranscriptEvent = z.object({
  v: z.literal(TRANSCRIPT_VERSION),
  sid: z.string(),
  seq: z.number().int().nonnegative(),
  at: z.iso.datetime(),
  type: z.enum(EVENT_TYPES),
  prev: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  data: z.record(z.string(), z.unknown()),
})
export type TranscriptEvent = z.infer<typeof TranscriptEvent>

/** An event before it is chained: the recorder fills in `v`, `sid`, `seq` and `prev`. */
export type PendingEvent = {
  seq: number
  at: string
  type: EventType
  data: Record<string, unknown>
}
