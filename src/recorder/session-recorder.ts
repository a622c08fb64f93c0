/**
 * Writes one session's transcript to R2 as hash-chained NDJSON chunks and keeps its D1
 * index row current. `writeAheadCommands` is the write-before-forward guarantee: it
 * resolves only once the events are durable in R2, and throws `recorder.unavailable`
 * otherwise, so the caller refuses the command. The D1 row follows each chunk.
 */
import type { Database } from '../db/client.ts'
import { GatehouseError } from '../errors.ts'
import { MANIFEST_TYPE, MANIFEST_VERSION, signManifest } from '../evidence/manifest.ts'
import { signingKeyOf } from '../evidence/signing-key.ts'
import type { Caller, Command, Decision, Outcome } from '../pipeline/types.ts'
import { type EventType, type PendingEvent, TRANSCRIPT_VERSION } from './event.ts'
import { chainEvents } from './hash-chain.ts'
import { EMPTY_TALLY, type SessionTally, upsertSessionRow, worseOutcome } from './session-index.ts'
import { chunkKey, manifestKey, newSessionId, transcriptPrefix } from './transcript-keys.ts'

/** Long sessions refresh their index row at most this often between chunks. */
const INDEX_REFRESH_MS = 5_000

export type RecorderStore = {
  bucket: R2Bucket
  db: Database
  now: () => number
  /** The signing key's source; without it (bare test stores) no manifest is written. */
  config?: { signingSeed: Uint8Array | undefined; credentialsKey: Uint8Array }
}

export type SessionStart = {
  protocol: string
  connectionName: string
  caller: Caller
  client: { ip?: string; userAgent?: string }
  /** Extra facts for the session.start event (target kind, client application, ...). */
  details?: Record<string, unknown>
}

export class SessionRecorder {
  readonly id: string
  readonly startedAt: number
  readonly prefix: string
  readonly #store: RecorderStore
  readonly #start: SessionStart
  #pending: PendingEvent[] = []
  #nextSeq = 0
  #lastHash: string | null = null
  #chunks = 0
  #tally: SessionTally = EMPTY_TALLY
  #indexedAt: number | null = null
  #endedAt: number | null = null
  #writing: Promise<void> = Promise.resolve()
  #indexed: Promise<void> = Promise.resolve()
  /** `at` of the first and the latest event: the manifest's time range. */
  #firstAt: string | undefined
  #lastAt = ''
  #manifestWritten = false

  constructor(store: RecorderStore, start: SessionStart) {
    this.#store = store
    this.#start = start
    this.startedAt = store.now()
    this.id = newSessionId(this.startedAt)
    this.prefix = transcriptPrefix(this.id, this.startedAt)
    this.append('session.start', {
      protocol: start.protocol,
      connection: start.connectionName,
      caller: start.caller,
      client: start.client,
      ...start.details,
    })
  }

  get tally(): Readonly<SessionTally> {
    return this.#tally
  }

  /** Queues an event for the next chunk and returns its sequence number. */
  append(type: EventType, data: Record<string, unknown>): number {
    if (this.#endedAt !== null) throw new Error(`session ${this.id} is closed`)
    const seq = this.#nextSeq++
    const at = new Date(this.#store.now()).toISOString()
    this.#pending.push({ seq, at, type, data })
    this.#firstAt ??= at
    this.#lastAt = at
    return seq
  }

  /**
   * Records classified commands and their decisions durably, in one chunk; throws
   * `recorder.unavailable` if it cannot. Returns each command's sequence number.
   */
  async writeAheadCommands(
    entries: readonly { command: Command; decision: Decision; masked?: unknown }[]
  ): Promise<number[]> {
    const seqs = entries.map((entry) => this.append('command', entry))
    try {
      await this.#writeNextChunk()
    } catch (error) {
      throw new GatehouseError(
        'recorder.unavailable',
        'The session recorder is unavailable, so the command was not forwarded. Try again shortly.',
        { detail: error instanceof Error ? error.message : String(error), cause: error }
      )
    }
    return seqs
  }

  recordOutcome(commandSeq: number, outcome: Outcome): void {
    this.append('outcome', { command: commandSeq, ...outcome })
  }

  recordRefusal(code: string, message: string, details: Record<string, unknown> = {}): void {
    this.append('access.refused', { code, message, ...details })
  }

  /** Facts about the session learned after it started (e.g. what a wire client asked for). */
  recordDetail(data: Record<string, unknown>): void {
    this.append('session.detail', data)
  }

  /**
   * Writes every queued event as the next chunk, then waits for the index row too.
   * Chunks are written one at a time, in order; so are index rows.
   */
  async flush(): Promise<void> {
    await this.#writeNextChunk()
    await this.#indexed
  }

  /**
   * Ends the session: appends session.end, writes it, then the signed manifest, and only
   * then marks the index row closed (so a closed row means the manifest is there).
   */
  async close(details: Record<string, unknown> = {}): Promise<void> {
    if (this.#endedAt !== null) return this.#writing.then(() => this.#indexed)
    this.append('session.end', { ...details })
    this.#endedAt = this.#store.now()
    await this.flush()
  }

  #writeNextChunk(): Promise<void> {
    const run = this.#writing.catch(() => {}).then(() => this.#writeChunk())
    this.#writing = run
    return run
  }

  async #writeChunk(): Promise<void> {
    const events = this.#pending.slice()
    const now = this.#store.now()
    const closing = this.#endedAt !== null
    const indexDue =
      this.#indexedAt === null || closing || now - this.#indexedAt >= INDEX_REFRESH_MS
    if (events.length === 0 && !indexDue) return

    if (events.length) {
      const { lines, lastHash } = await chainEvents(this.id, this.#lastHash, events)
      await this.#putChunk(this.#chunks, lines, lastHash)
      // Durable: advance the chain now, so a retry never rewrites a (write-once) chunk.
      this.#pending.splice(0, events.length)
      this.#lastHash = lastHash
      this.#chunks++
      this.#tally = events.reduce(tallyEvent, this.#tally)
    }
    // A closed row promises a signed manifest: without one the session reads as cut short.
    const [manifest] = closing ? await Promise.allSettled([this.#putManifest()]) : []
    if (indexDue) this.#queueIndex(now, closing && manifest?.status === 'fulfilled')
    if (manifest?.status === 'rejected') throw manifest.reason
  }

  /**
   * Queues the index row as of now. It follows the chunk, so it never claims what R2
   * lacks, and it is not awaited by the write-ahead: the command waits for R2 only.
   */
  #queueIndex(now: number, closed: boolean): void {
    const state = { lastHash: this.#lastHash, chunks: this.#chunks, tally: this.#tally }
    this.#indexedAt = now
    const write = this.#indexed
      .catch(() => {})
      .then(() => this.#writeIndex(state, closed))
      .catch((error: unknown) => {
        // The next chunk (or close) writes the row again.
        this.#indexedAt = null
        throw error
      })
    // Awaited by flush and close; a write-ahead alone never looks, so never unhandled.
    write.catch(() => {})
    this.#indexed = write
  }

  #writeIndex(
    state: { lastHash: string | null; chunks: number; tally: SessionTally },
    closed: boolean
  ): Promise<void> {
    return upsertSessionRow(this.#store.db, {
      id: this.id,
      protocol: this.#start.protocol,
      connectionName: this.#start.connectionName,
      caller: this.#start.caller,
      clientIp: this.#start.client.ip,
      userAgent: this.#start.client.userAgent,
      startedAt: this.startedAt,
      endedAt: closed ? this.#endedAt : null,
      status: closed ? 'closed' : 'open',
      transcriptPrefix: this.prefix,
      chunks: state.chunks,
      lastHash: state.lastHash,
      tally: state.tally,
    })
  }

  /** Signs what the transcript holds now that it is complete, and stores it beside the chunks. */
  async #putManifest(): Promise<void> {
    const config = this.#store.config
    if (!config || this.#manifestWritten || this.#lastHash === null) return
    const key = await signingKeyOf(config)
    const { caller } = this.#start
    const line = await signManifest(key, {
      v: MANIFEST_VERSION,
      type: MANIFEST_TYPE,
      session: this.id,
      transcriptVersion: TRANSCRIPT_VERSION,
      protocol: this.#start.protocol,
      connection: this.#start.connectionName,
      caller: {
        id: caller.id,
        name: caller.name,
        via: caller.via,
        ...(caller.tokenId ? { tokenId: caller.tokenId } : {}),
      },
      events: this.#nextSeq,
      lastHash: this.#lastHash,
      startedAt: this.#firstAt ?? this.#lastAt,
      endedAt: this.#lastAt,
      signedAt: new Date(this.#store.now()).toISOString(),
    })
    const written = await this.#store.bucket.put(manifestKey(this.prefix), line, {
      onlyIf: { etagDoesNotMatch: '*' },
      httpMetadata: { contentType: 'application/json' },
      customMetadata: { session: this.id, kid: key.kid },
    })
    if (written === null) throw new Error(`the manifest of ${this.id} already exists`)
    this.#manifestWritten = true
  }

  async #putChunk(chunk: number, lines: string[], lastHash: string | null): Promise<void> {
    const written = await this.#store.bucket.put(
      chunkKey(this.prefix, chunk),
      `${lines.join('\n')}\n`,
      {
        // Write-once: the gateway never overwrites evidence it has already stored.
        onlyIf: { etagDoesNotMatch: '*' },
        httpMetadata: { contentType: 'application/x-ndjson' },
        customMetadata: { session: this.id, lastHash: lastHash ?? '' },
      }
    )
    if (written === null) throw new Error(`transcript chunk ${chunk} of ${this.id} already exists`)
  }
}

function tallyEvent(tally: SessionTally, event: PendingEvent): SessionTally {
  const next = { ...tally, events: tally.events + 1 }
  const data = event.data
  if (event.type === 'command') {
    const action = (data.decision as Decision | undefined)?.action
    next.commands++
    if (action === 'allow') next.allowed++
    else if (action === 'block') next.blocked++
    else if (action === 'require_approval') next.approvalsRequired++
  } else if (event.type === 'outcome') {
    const outcome = data as Outcome
    next.bytesUp += outcome.bytesUp ?? 0
    next.bytesDown += outcome.bytesDown ?? 0
    if (outcome.status === 'error') next.errors++
    if (Array.isArray(outcome.summary?.masked) && outcome.summary.masked.length) next.masked++
    next.outcome = worseOutcome(next.outcome, outcome.status)
  } else if (event.type === 'approval') {
    if (data.state === 'approved') next.approved++
  } else if (event.type === 'access.refused') {
    next.outcome = worseOutcome(next.outcome, 'refused')
  } else if (event.type === 'session.end') {
    // Wire sessions count their bytes as a whole (logins and protocol chatter included).
    if (typeof data.bytesUp === 'number') next.bytesUp = Math.max(next.bytesUp, data.bytesUp)
    if (typeof data.bytesDown === 'number')
      next.bytesDown = Math.max(next.bytesDown, data.bytesDown)
  }
  return next
}
