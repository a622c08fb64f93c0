/**
 * D1 tables (drizzle). Times are Unix milliseconds. Layouts are documented in
 * storage-schema.md; migrations are generated from this file with drizzle-kit.
 */
import { sql } from 'drizzle-orm'
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/** Gatehouse agent tokens. Only the SHA-256 of the secret is stored. */
export const agentTokens = sqliteTable(
  'agent_tokens',
  {
    id: text('id').primaryKey(),
    /** The agent's principal name, matched by `agent:<name>` in policy. */
    name: text('name').notNull(),
    owner: text('owner').notNull(),
    description: text('description').notNull().default(''),
    tokenHash: text('token_hash').notNull().unique(),
    /** First characters of the token, so people can tell tokens apart. */
    tokenHint: text('token_hint').notNull(),
    /** JSON array of connection names the token may reach; `["*"]` for any granted one. */
    connections: text('connections', { mode: 'json' }).$type<string[]>().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
    revokedBy: text('revoked_by'),
    lastUsedAt: integer('last_used_at'),
  },
  (table) => [index('agent_tokens_name').on(table.name)]
)

/** Targets agents reach through the gateway, with their sealed credential. */
export const connections = sqliteTable('connections', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  kind: text('kind', { enum: ['http', 'postgres', 'mysql', 'ssh'] }).notNull(),
  /** JSON, shape depends on kind (validated by connections/connection.ts). */
  target: text('target', { mode: 'json' }).$type<unknown>().notNull(),
  /** AES-GCM sealed credential (connections/credential-seal.ts), or null for none. */
  credential: text('credential'),
  description: text('description').notNull().default(''),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

/** Every applied policy document; the highest version is in force. */
export const policyVersions = sqliteTable('policy_versions', {
  version: integer('version').primaryKey(),
  /** The validated document with defaults filled in, as JSON. */
  document: text('document', { mode: 'json' }).$type<unknown>().notNull(),
  /** The text as applied (YAML keeps its comments), returned by GET on request. */
  source: text('source').notNull(),
  format: text('format', { enum: ['json', 'yaml'] }).notNull(),
  sha256: text('sha256').notNull(),
  appliedBy: text('applied_by').notNull(),
  appliedAt: integer('applied_at').notNull(),
  comment: text('comment').notNull().default(''),
})

/** Index over the R2 transcripts: one row per session (HTTP request or wire connection). */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    protocol: text('protocol').notNull(),
    connectionName: text('connection_name').notNull(),
    callerId: text('caller_id').notNull(),
    callerName: text('caller_name').notNull(),
    callerVia: text('caller_via').notNull(),
    tokenId: text('token_id'),
    clientIp: text('client_ip'),
    userAgent: text('user_agent'),
    startedAt: integer('started_at').notNull(),
    endedAt: integer('ended_at'),
    status: text('status', { enum: ['open', 'closed', 'incomplete'] }).notNull(),
    /** The worst outcome seen, for filtering: ok < blocked < error < refused. */
    outcome: text('outcome').notNull().default('ok'),
    commands: integer('commands').notNull().default(0),
    allowed: integer('allowed').notNull().default(0),
    blocked: integer('blocked').notNull().default(0),
    approvalsRequired: integer('approvals_required').notNull().default(0),
    errors: integer('errors').notNull().default(0),
    bytesUp: integer('bytes_up').notNull().default(0),
    bytesDown: integer('bytes_down').notNull().default(0),
    /** R2 key prefix of this session's chunks. */
    transcriptPrefix: text('transcript_prefix').notNull(),
    chunks: integer('chunks').notNull().default(0),
    lastHash: text('last_hash'),
    events: integer('events').notNull().default(0),
    /** Outcomes whose results reached the caller masked (the console's "masked" filter). */
    masked: integer('masked').notNull().default(0),
    /** Held commands that an approver let through (the console's "approved" filter). */
    approved: integer('approved').notNull().default(0),
  },
  (table) => [
    // Lists page newest first by the (started_at, id) keyset.
    index('sessions_started').on(table.startedAt, table.id),
    // The few live sessions among many (the console's "live only", kills by subject).
    index('sessions_open').on(table.startedAt, table.id).where(sql`${table.status} = 'open'`),
    index('sessions_caller').on(table.callerId, table.startedAt),
    index('sessions_connection').on(table.connectionName, table.startedAt),
    // Audit export and retention walk closed sessions by the (ended_at, id) keyset.
    index('sessions_ended').on(table.endedAt, table.id),
  ]
)

/** Index over approvals; the ApprovalRequest Durable Object of each id is the truth. */
export const approvals = sqliteTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id').notNull(),
    commandSeq: integer('command_seq').notNull(),
    connectionName: text('connection_name').notNull(),
    requesterId: text('requester_id').notNull(),
    requesterName: text('requester_name').notNull(),
    /** One readable line: `POST /payments`, or the SQL, truncated. */
    summary: text('summary').notNull(),
    commandHash: text('command_hash').notNull(),
    rule: text('rule'),
    reason: text('reason').notNull(),
    /** JSON array of the policy subjects who may decide. */
    approvers: text('approvers', { mode: 'json' }).$type<string[]>().notNull(),
    state: text('state', {
      enum: ['pending', 'approved', 'denied', 'expired', 'cancelled'],
    }).notNull(),
    requestedAt: integer('requested_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    decidedBy: text('decided_by'),
    decidedVia: text('decided_via'),
    endedAt: integer('ended_at'),
    consumedAt: integer('consumed_at'),
  },
  (table) => [
    index('approvals_state').on(table.state, table.requestedAt),
    index('approvals_session').on(table.sessionId),
    // Retention removes approvals that ended before its cutoff.
    index('approvals_ended').on(table.endedAt),
  ]
)

/**
 * Containment locks: every session of a locked subject (`agent:<name>`, `user:<sub or email>`,
 * `token:<id>`, `connection:<name>`) is refused until the row is deleted.
 */
export const locks = sqliteTable('locks', {
  subject: text('subject').primaryKey(),
  reason: text('reason').notNull().default(''),
  lockedBy: text('locked_by').notNull(),
  lockedAt: integer('locked_at').notNull(),
})

/**
 * How far each push export has delivered (at-least-once: advanced only after the receiver
 * answered 2xx). `position` is the audit cursor of the next event to send.
 */
export const exportCursors = sqliteTable('export_cursors', {
  /** The export's name: `audit-webhook`. */
  id: text('id').primaryKey(),
  position: text('position').notNull(),
  /** The last batch the receiver took, and when. */
  lastBatch: text('last_batch'),
  deliveredAt: integer('delivered_at'),
  /** The last attempt, and why it failed (null once one succeeds). */
  attemptedAt: integer('attempted_at'),
  lastError: text('last_error'),
})
