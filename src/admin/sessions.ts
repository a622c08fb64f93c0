/**
 * /v1/admin/sessions: the D1 index with filters and keyset paging, and each transcript
 * with its signed manifest, its verification, its export and its terminal recordings.
 */
import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm'
import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { sessions } from '../db/schema.ts'
import { GatehouseError } from '../errors.ts'
import { publishedSigningKeys } from '../evidence/signing-key.ts'
import { verifyTranscript } from '../evidence/verify-transcript.ts'
import { verifyChain } from '../recorder/hash-chain.ts'
import { listTerminalParts } from '../recorder/terminal-parts.ts'
import { TERMINAL_PREFIX, terminalPartKey, terminalPrefix } from '../recorder/transcript-keys.ts'
import { readManifest, readTranscriptLines } from '../recorder/transcript-reader.ts'
import { parseWith } from './body.ts'

const SessionQuery = z
  .object({
    connection: z.string().optional(),
    caller: z.string().optional(),
    protocol: z.string().optional(),
    outcome: z.enum(['ok', 'blocked', 'error', 'refused']).optional(),
    /** Opaque cursor from the previous page's `next`. */
    cursor: z
      .string()
      .regex(/^\d+\.[0-9a-f-]+$/, 'is not a cursor from this API')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict()

export const sessionRoutes = new Hono<AppEnv>()

sessionRoutes.get('/', async (c) => {
  const query = parseWith(SessionQuery, c.req.query(), 'request.invalid', 'Invalid session query')
  const conditions: (SQL | undefined)[] = [
    query.connection ? eq(sessions.connectionName, query.connection) : undefined,
    query.caller ? eq(sessions.callerId, query.caller) : undefined,
    query.protocol ? eq(sessions.protocol, query.protocol) : undefined,
    query.outcome ? eq(sessions.outcome, query.outcome) : undefined,
  ]
  if (query.cursor) {
    const [startedAt, id] = query.cursor.split('.') as [string, string]
    conditions.push(
      or(
        lt(sessions.startedAt, Number(startedAt)),
        and(eq(sessions.startedAt, Number(startedAt)), lt(sessions.id, id))
      )
    )
  }
  const rows = await c.var.gateway.db
    .select()
    .from(sessions)
    .where(and(...conditions))
    .orderBy(desc(sessions.startedAt), desc(sessions.id))
    .limit(query.limit + 1)
    .all()
  const page = rows.slice(0, query.limit)
  const last = page.at(-1)
  return c.json({
    sessions: page,
    next: rows.length > query.limit && last ? `${last.startedAt}.${last.id}` : null,
  })
})

sessionRoutes.get('/:id', async (c) =>
  c.json(await sessionRow(c.var.gateway.db, c.req.param('id')))
)

/** The whole transcript as NDJSON, as stored. */
sessionRoutes.get('/:id/transcript', async (c) => {
  const row = await sessionRow(c.var.gateway.db, c.req.param('id'))
  const lines = await readTranscriptLines(c.var.gateway.bucket, row.transcriptPrefix)
  return c.body(lines.map((line) => `${line}\n`).join(''), 200, {
    'content-type': 'application/x-ndjson',
  })
})

/**
 * Verifies the transcript against its signed manifest (`verdict`: intact, incomplete or
 * tampered, naming each altered event), and that the index agrees with what R2 holds.
 */
sessionRoutes.get('/:id/verify', async (c) => {
  const { gateway } = c.var
  const row = await sessionRow(gateway.db, c.req.param('id'))
  const [lines, manifest, keys] = await Promise.all([
    readTranscriptLines(gateway.bucket, row.transcriptPrefix),
    readManifest(gateway.bucket, row.transcriptPrefix),
    publishedSigningKeys(gateway.config),
  ])
  const [verdict, chain] = await Promise.all([
    verifyTranscript({ sessionId: row.id, lines, manifest, keys }),
    verifyChain(row.id, lines),
  ])
  const matchesIndex =
    chain.intact && chain.lastHash === row.lastHash && chain.events === row.events
  return c.json({ session: row.id, verdict, chain, matchesIndex, status: row.status })
})

/** The signed closing manifest, exactly as stored. */
sessionRoutes.get('/:id/manifest', async (c) => {
  const row = await sessionRow(c.var.gateway.db, c.req.param('id'))
  const manifest = await readManifest(c.var.gateway.bucket, row.transcriptPrefix)
  if (manifest === undefined) {
    throw new GatehouseError(
      'resource.not_found',
      `Session "${row.id}" has no manifest: it is still open or was cut short.`
    )
  }
  return c.body(manifest, 200, { 'content-type': 'application/json' })
})

/**
 * The evidence as one download: the transcript's NDJSON lines as stored, then the signed
 * manifest line (absent for a session cut short). `gatehouse verify --file` checks it.
 */
sessionRoutes.get('/:id/export', async (c) => {
  const row = await sessionRow(c.var.gateway.db, c.req.param('id'))
  const [lines, manifest] = await Promise.all([
    readTranscriptLines(c.var.gateway.bucket, row.transcriptPrefix),
    readManifest(c.var.gateway.bucket, row.transcriptPrefix),
  ])
  const body = [...lines, ...(manifest === undefined ? [] : [manifest])]
  return c.body(body.map((line) => `${line}\n`).join(''), 200, {
    'content-type': 'application/x-ndjson',
    'content-disposition': `attachment; filename="gatehouse-session-${row.id}.ndjson"`,
  })
})

/**
 * The session's terminal recordings (asciicast parts) as stored, for `gatehouse verify` to
 * download and hash itself: the list, then each part's bytes exactly as written.
 */
sessionRoutes.get('/:id/terminal-parts', async (c) => {
  const row = await sessionRow(c.var.gateway.db, c.req.param('id'))
  const parts = await listTerminalParts(
    c.var.gateway.bucket,
    `${row.transcriptPrefix}${TERMINAL_PREFIX}`,
    row.transcriptPrefix
  )
  return c.json({
    session: row.id,
    parts: parts.map(({ key, terminal, part, size }) => ({ key, terminal, part, size })),
  })
})

const PartParams = z.object({
  terminal: z.coerce.number().int().min(0).max(999_999),
  part: z.coerce.number().int().min(0).max(999_999),
})

sessionRoutes.get('/:id/terminal-parts/:terminal/:part', async (c) => {
  const { terminal, part } = parseWith(
    PartParams,
    { terminal: c.req.param('terminal'), part: c.req.param('part') },
    'request.invalid',
    'Invalid terminal part'
  )
  const row = await sessionRow(c.var.gateway.db, c.req.param('id'))
  const key = terminalPartKey(terminalPrefix(row.transcriptPrefix, terminal), part)
  const object = await c.var.gateway.bucket.get(key)
  if (!object) {
    throw new GatehouseError(
      'resource.not_found',
      `Session "${row.id}" has no part ${part} of terminal ${terminal}.`
    )
  }
  return c.body(object.body, 200, {
    'content-type': 'application/x-asciicast',
    'content-length': String(object.size),
  })
})

async function sessionRow(db: AppEnv['Variables']['gateway']['db'], id: string) {
  const row = await db.select().from(sessions).where(eq(sessions.id, id)).get()
  if (!row) throw new GatehouseError('resource.not_found', `No session with id "${id}".`)
  return row
}
