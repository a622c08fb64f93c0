/**
 * The responder console, mounted at `/ui`: server-rendered pages over the D1 index, the R2
 * transcripts and the admin data, behind the OIDC sign-in (CONSOLE_GROUPS, ADMIN_GROUPS).
 * Containment actions are same-origin POSTs carrying the session's CSRF token, and each
 * is recorded as an admin action.
 *
 *   GET  /ui/sessions                 filters + keyset paging over the session index
 *   GET  /ui/sessions/:id             timeline, integrity badge, kill switch while live,
 *                                     a player per recorded terminal
 *   GET  /ui/sessions/:id/terminal/:n.cast   one terminal's asciicast v2 (?download=1)
 *   GET  /ui/assets/:name             the terminal player's script and stylesheet
 *   POST /ui/sessions/:id/kill        csrf, reason?
 *   GET  /ui/approvals                pending approvals (links to /approvals/:id), recent ones
 *   GET  /ui/tokens                   agent tokens (?all=1 with revoked ones)
 *   POST /ui/tokens/:id/revoke        csrf
 *   GET  /ui/connections, /ui/policy  read-only
 */
import { desc, eq, ne } from 'drizzle-orm'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import { recordAdminAction } from '../admin/audit.ts'
import type { AppEnv } from '../app-env.ts'
import { htmlPage, pageErrorHandler } from '../approvals/page/html-response.ts'
import { listConnections, viewConnection } from '../connections/store.ts'
import { killSession } from '../containment/kill.ts'
import { agentTokens, approvals, connections, sessions } from '../db/schema.ts'
import { GatehouseError } from '../errors.ts'
import { recordedParts } from '../evidence/terminal-evidence.ts'
import {
  getAgentToken,
  listAgentTokens,
  revokeAgentToken,
  viewAgentToken,
} from '../identity/agent-token-store.ts'
import { PolicyDocument } from '../policy/document.ts'
import { policyVersion } from '../policy/store.ts'
import { terminalPrefix } from '../recorder/transcript-keys.ts'
import { readTranscriptLines } from '../recorder/transcript-reader.ts'
import { CONSOLE_HOME, consoleUser, readConsoleForm, requireConsoleUser } from './access.ts'
import { checkIntegrity } from './integrity.ts'
import { consoleSecurityHeaders } from './page-headers.ts'
import { ApprovalsPage } from './pages/approvals-page.tsx'
import { ConnectionsPage } from './pages/connections-page.tsx'
import { PolicyPage } from './pages/policy-page.tsx'
import { MAX_KILL_REASON_CHARS, SessionPage } from './pages/session-page.tsx'
import { SessionsPage } from './pages/sessions-page.tsx'
import { TokensPage } from './pages/tokens-page.tsx'
import { parseSessionFilters, sessionListQuery, sessionPage } from './session-list.ts'
import { checkRecording, type RecordingCheck } from './terminal-integrity.ts'
import { grantTerminalPlayer, terminalAsset } from './terminal-player-assets.ts'
import {
  findTerminalRecording,
  listTerminalRecordings,
  type TerminalRecording,
  terminalCastStream,
} from './terminal-recording.ts'
import { readTimeline } from './timeline.ts'

/** A console form is a few hundred bytes; anything far larger is not one. */
const MAX_FORM_BYTES = 16 * 1024
/** Timeline events rendered per page of a session (the integrity check reads them all). */
const TIMELINE_PAGE_EVENTS = 1_000
const PENDING_APPROVALS_SHOWN = 200
const RECENT_APPROVALS_SHOWN = 20
/** Suggestions offered in the filter inputs. */
const SUGGESTIONS = 200

/** Session ids as the recorder mints them (UUIDv7 layout). */
const SessionId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
const TokenId = z.string().regex(/^tok_[A-Za-z0-9_-]{16}$/)

const KillForm = z.object({
  reason: z
    .string()
    .max(MAX_KILL_REASON_CHARS)
    .optional()
    .transform((value) => value?.trim() || 'killed from the console'),
})

export const consoleRoutes = new Hono<AppEnv>()

consoleRoutes.use(consoleSecurityHeaders)
consoleRoutes.onError(pageErrorHandler)
consoleRoutes.use(requireConsoleUser)
consoleRoutes.post(
  '*',
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: () => {
      throw new GatehouseError('request.too_large', 'A console form is never this large.')
    },
  })
)

consoleRoutes.get('/', (c) => c.redirect(CONSOLE_HOME, 303))

consoleRoutes.get('/sessions', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const filters = parseSessionFilters(c.req.query())
  const db = gateway.db
  // One round trip to D1: the page and the filter suggestions.
  const [rows, tokenNames, connectionNames] = await db.batch([
    sessionListQuery(db, filters),
    db
      .selectDistinct({ name: agentTokens.name })
      .from(agentTokens)
      .orderBy(agentTokens.name)
      .limit(SUGGESTIONS),
    db
      .select({ name: connections.name })
      .from(connections)
      .orderBy(connections.name)
      .limit(SUGGESTIONS),
  ])
  return htmlPage(
    c,
    SessionsPage({
      user,
      filters,
      page: sessionPage(rows),
      callers: tokenNames.map((row) => `agent:${row.name}`),
      connections: connectionNames.map((row) => row.name),
    })
  )
})

consoleRoutes.get('/sessions/:id', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const row = await sessionRow(c)
  const [lines, terminals] = await Promise.all([
    readTranscriptLines(gateway.bucket, row.transcriptPrefix),
    listTerminalRecordings(gateway.bucket, row.transcriptPrefix),
  ])
  const first = Math.max(0, Number.parseInt(c.req.query('from') ?? '0', 10) || 0)
  if (terminals.length > 0) grantTerminalPlayer(c)
  return htmlPage(
    c,
    SessionPage({
      user,
      row,
      integrity: await checkIntegrity(gateway, row, lines),
      entries: readTimeline(lines),
      terminals: withChecks(terminals, lines, row.transcriptPrefix),
      window: { first, size: TIMELINE_PAGE_EVENTS },
      notice:
        c.req.query('killed') === '1'
          ? {
              tone: 'ok',
              text: 'Kill sent. The session ends within moments and records why; reload to see its end.',
            }
          : undefined,
    })
  )
})

/** Each recording with its check against the transcript's `terminal` events. */
function withChecks(
  terminals: TerminalRecording[],
  lines: readonly string[],
  prefix: string
): (TerminalRecording & { check: RecordingCheck })[] {
  const recorded = recordedParts(lines)
  return terminals.map((recording) => ({
    ...recording,
    check: checkRecording(recording, recorded, terminalPrefix(prefix, recording.terminal)),
  }))
}

consoleRoutes.get('/sessions/:id/terminal/:file', async (c) => {
  const row = await sessionRow(c)
  const terminal = /^(\d{1,6})\.cast$/.exec(c.req.param('file'))?.[1]
  const recording =
    terminal === undefined
      ? undefined
      : await findTerminalRecording(c.var.gateway.bucket, row.transcriptPrefix, Number(terminal))
  if (!recording) {
    throw new GatehouseError('resource.not_found', 'This session has no such terminal recording.')
  }
  const name = `${row.id}-terminal-${recording.terminal}.cast`
  return new Response(terminalCastStream(c.var.gateway.bucket, recording), {
    headers: {
      'content-type': 'application/x-asciicast',
      'content-length': `${recording.bytes}`,
      'content-disposition': `${c.req.query('download') === '1' ? 'attachment' : 'inline'}; filename="${name}"`,
      ...(recording.omittedParts > 0
        ? { 'x-gatehouse-omitted-parts': `${recording.omittedParts}` }
        : {}),
    },
  })
})

consoleRoutes.get('/assets/:name', (c) => {
  const asset = terminalAsset(c.req.param('name'))
  if (!asset) throw new GatehouseError('resource.not_found', 'There is no such file.')
  return asset
})

consoleRoutes.post('/sessions/:id/kill', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const form = KillForm.safeParse(await readConsoleForm(c))
  if (!form.success) {
    throw new GatehouseError(
      'request.invalid',
      `A reason has at most ${MAX_KILL_REASON_CHARS} characters.`
    )
  }
  const row = await sessionRow(c)
  const result = await killSession(gateway, row.id, {
    by: user.caller.id,
    reason: form.data.reason,
  })
  recordAdminAction(gateway, user.caller, c.req.raw, 'session.kill', {
    sessionId: result.sessionId,
    reason: result.kill.reason,
    first: result.first,
    woken: result.woken,
    via: 'console',
  })
  return c.redirect(`/ui/sessions/${row.id}?killed=1`, 303)
})

consoleRoutes.get('/approvals', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const db = gateway.db
  const [pending, recent] = await db.batch([
    db
      .select()
      .from(approvals)
      .where(eq(approvals.state, 'pending'))
      .orderBy(desc(approvals.requestedAt))
      .limit(PENDING_APPROVALS_SHOWN),
    db
      .select()
      .from(approvals)
      .where(ne(approvals.state, 'pending'))
      .orderBy(desc(approvals.requestedAt))
      .limit(RECENT_APPROVALS_SHOWN),
  ])
  return htmlPage(c, ApprovalsPage({ user, pending, recent }))
})

consoleRoutes.get('/tokens', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const all = c.req.query('all') === '1'
  const now = gateway.now()
  const tokens = (await listAgentTokens(gateway.db, { includeRevoked: all })).map((row) =>
    viewAgentToken(row, now)
  )
  const revoked = c.req.query('revoked')
  const named =
    revoked && TokenId.safeParse(revoked).success
      ? await getAgentToken(gateway.db, revoked)
      : undefined
  return htmlPage(
    c,
    TokensPage({
      user,
      tokens,
      all,
      notice: named
        ? {
            tone: 'ok',
            text: `Token ${named.id} (agent ${named.name}) is revoked: it is refused from its next request on. Kill its live sessions to end them now.`,
          }
        : undefined,
    })
  )
})

consoleRoutes.post('/tokens/:id/revoke', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  await readConsoleForm(c)
  const id = TokenId.safeParse(c.req.param('id'))
  const row = id.success
    ? await revokeAgentToken(gateway.db, id.data, user.caller.id, gateway.now())
    : undefined
  if (!row) {
    throw new GatehouseError('resource.not_found', 'There is no such agent token.', {
      detail: `token ${c.req.param('id').slice(0, 80)}`,
    })
  }
  recordAdminAction(gateway, user.caller, c.req.raw, 'token.revoke', {
    tokenId: row.id,
    name: row.name,
    via: 'console',
  })
  return c.redirect(`/ui/tokens?revoked=${encodeURIComponent(row.id)}`, 303)
})

consoleRoutes.get('/connections', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const rows = await listConnections(gateway.db)
  return htmlPage(c, ConnectionsPage({ user, connections: rows.map(viewConnection) }))
})

consoleRoutes.get('/policy', async (c) => {
  const { gateway } = c.var
  const user = consoleUser(c)
  const row = await policyVersion(gateway.db)
  const document = row ? PolicyDocument.safeParse(row.document) : undefined
  if (document && !document.success) {
    throw new GatehouseError('internal', 'The policy in force could not be read.', {
      detail: document.error.message,
    })
  }
  return htmlPage(
    c,
    PolicyPage({
      user,
      policy: row && document?.success ? { ...row, document: document.data } : undefined,
    })
  )
})

async function sessionRow(c: Context<AppEnv>) {
  const id = SessionId.safeParse(c.req.param('id'))
  const row = id.success
    ? await c.var.gateway.db.select().from(sessions).where(eq(sessions.id, id.data)).get()
    : undefined
  if (!row) {
    throw new GatehouseError('resource.not_found', 'There is no such session.', {
      detail: `session ${String(c.req.param('id')).slice(0, 80)}`,
    })
  }
  return row
}
