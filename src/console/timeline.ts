/**
 * A transcript read for people: every line becomes one timeline entry, in `seq` order,
 * with what the console shows of it. Transcripts are evidence, so nothing here trusts
 * them: each event's data is read through loose schemas, and whatever does not fit is
 * kept as a `raw` entry rather than dropped (the page prints it as escaped JSON).
 */
import { z } from 'zod'
import { TranscriptEvent } from '../recorder/event.ts'

/** Longest raw line the page prints of something it cannot read. */
const MAX_RAW_CHARS = 2_000

const Masked = z.array(z.object({ by: z.string(), count: z.number() }))
export type MaskedEntry = z.infer<typeof Masked>[number]

const Body = z
  .object({
    bytes: z.number(),
    sha256: z.string().optional(),
    text: z.string().optional(),
    base64: z.string().optional(),
  })
  .nullable()

const HttpCommand = z.object({
  kind: z.literal('http'),
  method: z.string(),
  path: z.string(),
  query: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
  body: Body.default(null),
})

const SqlCommand = z.object({
  kind: z.literal('sql'),
  text: z.string(),
  via: z.string().default('simple'),
  params: z.array(z.string().nullable()).optional(),
  statements: z
    .array(
      z.object({
        text: z.string().default(''),
        class: z.string(),
        kind: z.string(),
        writes: z.boolean().default(false),
        tables: z.array(z.string()).default([]),
        risks: z.array(z.string()).default([]),
      })
    )
    .default([]),
})

const ShellCommand = z.object({
  kind: z.literal('shell'),
  text: z.string(),
  via: z.string().default('api'),
  stdin: Body.optional(),
  commands: z
    .array(
      z.object({
        text: z.string().default(''),
        program: z.string(),
        class: z.string(),
        writes: z.boolean().default(false),
        via: z.array(z.string()).default([]),
        risks: z.array(z.string()).default([]),
      })
    )
    .default([]),
})

const Decision = z.object({
  action: z.string(),
  rule: z.object({ name: z.string() }).nullable().default(null),
  reason: z.string().default(''),
  statements: z
    .array(z.object({ index: z.number(), action: z.string(), rule: z.string().nullable() }))
    .optional(),
})

const CommandData = z.object({
  command: z.discriminatedUnion('kind', [HttpCommand, SqlCommand, ShellCommand]),
  decision: Decision,
  /** What the recorder's detectors masked in the stored command. */
  masked: Masked.optional(),
})

const OutcomeData = z.object({
  command: z.number().int(),
  status: z.string(),
  summary: z.record(z.string(), z.unknown()).default({}),
  errorCode: z.string().optional(),
  bytesUp: z.number().optional(),
  bytesDown: z.number().optional(),
  durationMs: z.number().optional(),
})

const Person = z.union([
  z.string(),
  z.object({ id: z.string(), name: z.string().optional(), email: z.string().optional() }),
])

const ApprovalData = z.object({
  approval: z.string(),
  state: z.string().optional(),
  by: Person.optional(),
  via: z.string().optional(),
  comment: z.string().optional(),
  reason: z.string().optional(),
  refused: z.string().optional(),
  answered: z.string().optional(),
  url: z.string().optional(),
  expiresAt: z.string().optional(),
})

/** A refusal keeps whatever else it names (the detail of a kill: who, why, when). */
const RefusedData = z.looseObject({ code: z.string(), message: z.string().default('') })

export type HttpCommandEntry = z.infer<typeof HttpCommand>
export type SqlCommandEntry = z.infer<typeof SqlCommand>
export type ShellCommandEntry = z.infer<typeof ShellCommand>
export type OutcomeEntry = z.infer<typeof OutcomeData>

type Base = {
  seq: number
  /** Milliseconds since the session's first event. */
  offsetMs: number
  at: string
}

export type TimelineEntry =
  | (Base & { kind: 'command'; data: z.infer<typeof CommandData> })
  | (Base & { kind: 'outcome'; data: OutcomeEntry })
  | (Base & { kind: 'approval'; data: z.infer<typeof ApprovalData> })
  | (Base & { kind: 'refused'; data: z.infer<typeof RefusedData> })
  /** session.start, session.detail, session.end, admin.action: shown as facts. */
  | (Base & { kind: 'facts'; type: string; data: Record<string, unknown> })
  /** A line that is not a well-formed event of a known shape, shown as it is. */
  | { kind: 'raw'; seq: number | null; line: string; reason: string }

const SHAPES = {
  command: CommandData,
  outcome: OutcomeData,
  approval: ApprovalData,
  'access.refused': RefusedData,
} as const

/** Every line of a transcript as a timeline entry, in order. */
export function readTimeline(lines: readonly string[]): TimelineEntry[] {
  let origin: number | null = null
  return lines.map((line, index): TimelineEntry => {
    let event: TranscriptEvent
    try {
      event = TranscriptEvent.parse(JSON.parse(line))
    } catch {
      return { kind: 'raw', seq: index, line: clip(line), reason: 'not a transcript event' }
    }
    const at = Date.parse(event.at)
    origin ??= at
    const base: Base = { seq: event.seq, offsetMs: at - origin, at: event.at }
    const raw = (reason: string): TimelineEntry => ({
      kind: 'raw',
      seq: event.seq,
      line: clip(line),
      reason,
    })
    switch (event.type) {
      case 'command': {
        const data = SHAPES.command.safeParse(event.data)
        return data.success
          ? { ...base, kind: 'command', data: data.data }
          : raw('unreadable command')
      }
      case 'outcome': {
        const data = SHAPES.outcome.safeParse(event.data)
        return data.success
          ? { ...base, kind: 'outcome', data: data.data }
          : raw('unreadable outcome')
      }
      case 'approval': {
        const data = SHAPES.approval.safeParse(event.data)
        return data.success
          ? { ...base, kind: 'approval', data: data.data }
          : raw('unreadable approval')
      }
      case 'access.refused': {
        const data = SHAPES['access.refused'].safeParse(event.data)
        return data.success
          ? { ...base, kind: 'refused', data: data.data }
          : raw('unreadable refusal')
      }
      default:
        return { ...base, kind: 'facts', type: event.type, data: event.data }
    }
  })
}

function clip(line: string): string {
  return line.length > MAX_RAW_CHARS ? `${line.slice(0, MAX_RAW_CHARS)}…` : line
}

/**
 * What a masking entry masked, for people: the column, detector or JSON member name
 * (`column:public.customers.email` → `email`, `detector:card` → `card`).
 */
export function maskedName(by: string): string {
  const colon = by.indexOf(':')
  const kind = colon < 0 ? '' : by.slice(0, colon)
  const what = by.slice(colon + 1)
  if (kind === 'lineage') return 'untraceable column'
  if (kind === 'detector') return what
  // column:schema.table.column and path:$.a[*].b name the value by their last part.
  const last = what
    .split(/[.[\]*]+/)
    .filter(Boolean)
    .at(-1)
  return last ?? what
}

/** An approver or decider as recorded: a principal id, or `{id, name, email}`. */
export function personLabel(person: z.infer<typeof Person>): string {
  if (typeof person === 'string') return person
  const name = person.email ?? person.name
  return name && name !== person.id ? `${name} (${person.id})` : person.id
}
