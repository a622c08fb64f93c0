/**
 * One Postgres client session through the gateway: the client's startup, the gateway's
 * own login to the origin, then two pumps. Client → origin goes batch by batch through
 * the shared pipeline (decide, write ahead, forward); origin → client is relayed as
 * received, with each response attributed to its command by the ResponseTracker.
 */
import { PostgresCredential, PostgresTarget } from '../../connections/connection.ts'
import { concatBytes } from '../../encoding.ts'
import { GatehouseError } from '../../errors.ts'
import type { HoldOptions } from '../../pipeline/pause.ts'
import type { GatewaySession } from '../../pipeline/session.ts'
import type { SqlCommand } from '../../pipeline/types.ts'
import { sessionLimits } from '../tunnel/session-limits.ts'
import type { Duplex } from '../tunnel/websocket-duplex.ts'
import { type BatchItem, buildBatch, ExtendedState } from './client-batch.ts'
import { readClientStartup } from './client-startup.ts'
import { decodeBackendMessage, encodeBackendMessage } from './codec/backend.ts'
import type { MessageFrame } from './codec/framer.ts'
import { encodeFrontendMessage } from './codec/frontend.ts'
import { ProtocolError } from './codec/protocol-error.ts'
import { FrameStream } from './frame-stream.ts'
import { loadMaskingCatalog } from './masking/catalog.ts'
import { maskNoticeFrame } from './masking/notice-masker.ts'
import type { ResultMasker } from './masking/result-masker.ts'
import { PostgresMasking } from './masking/statement-plans.ts'
import { type OriginSession, openOriginSession, sendCancelRequest } from './origin.ts'
import { type Expectation, ResponseTracker, Settle } from './response-tracker.ts'
import { errorResponse, noticeResponse, toWireError } from './wire-errors.ts'

/** Defaults for connections that set no limits of their own. */

/** Client messages held while a batch is incomplete, at most. */
const MAX_BATCH_BYTES = 32 * 1024 * 1024
/** Client messages that end a batch: Sync, Query, FunctionCall (answered with ReadyForQuery), Flush. */
const BATCH_ENDS = new Set(['S', 'Q', 'F', 'H'])
/** COPY data travels as it comes: its COPY statement was decided already. */
const COPY_TYPES = new Set(['d', 'c', 'f'])
/**
 * Sent to the origin after a refusal inside a transaction, so the transaction fails there
 * as the client was told it did; its own error never reaches the client.
 */
const ABORT_TRANSACTION_SQL =
  "DO $$BEGIN RAISE EXCEPTION USING MESSAGE = 'gatehouse: a statement in this transaction was refused', ERRCODE = '42501'; END$$"
/**
 * Server settings that change how SQL is read. The classifier reads SQL as UTF-8 with
 * standard strings; if the origin session stops doing so, the two could disagree about
 * where a string ends, so the session is ended.
 */
const GUARDED_SETTINGS: Record<string, (value: string) => boolean> = {
  standard_conforming_strings: (value) => value === 'on',
  client_encoding: (value) => value.toUpperCase() === 'UTF8',
}

/** Every message a client may send once started (55.7 Message Formats). */
const CLIENT_TYPES = new Set(['Q', 'P', 'B', 'D', 'E', 'C', 'S', 'H', 'F', 'd', 'c', 'f', 'X'])

export type TunnelSummary = {
  bytesUp: number
  bytesDown: number
  ended: string
  /** When the client last sent anything (ms). */
  lastClientActivity: number
  /** A statement is waiting for approval: the session is not idle. */
  holding: boolean
}

export async function runPostgresTunnel(
  session: GatewaySession,
  client: Duplex
): Promise<TunnelSummary> {
  const summary: TunnelSummary = {
    bytesUp: 0,
    bytesDown: 0,
    ended: 'client closed',
    lastClientActivity: Date.now(),
    holding: false,
  }
  const clientWriter = client.writable.getWriter()
  const clientFrames = new FrameStream(client.readable)
  let origin: OriginSession | undefined
  let tracker: ResponseTracker | undefined
  try {
    const start = await readClientStartup(clientFrames, clientWriter)
    if (!start) return summary
    const target = PostgresTarget.parse(session.connection.target)
    if (start.kind === 'cancel') {
      summary.ended = 'cancel request'
      await session.run(cancelCommand(start.processId), async () => {
        await sendCancelRequest(target, start.processId, start.secretKey)
        return {
          result: undefined,
          settled: Promise.resolve({ status: 'ok', summary: { processId: start.processId } }),
        }
      })
      return summary
    }
    // Armed before the login, so a kill from now on ends the session at once.
    const killed = session.killed
    session.recordDetail({ client: start.requested })
    const credential = PostgresCredential.parse(await session.loginCredential())
    origin = await openOriginSession(target, credential, start.forwarded)
    const profile = session.masking
    const masking = profile.active
      ? new PostgresMasking(
          profile,
          profile.columns.length ? await loadMaskingCatalog(origin, profile.columns) : null
        )
      : undefined
    await clientWriter.write(
      concatBytes([
        encodeBackendMessage({ type: 'AuthenticationOk' }),
        noticeResponse(`Connected through Gatehouse; this session is recorded as ${session.id}.`),
        ...origin.greeting,
        encodeBackendMessage({ type: 'ReadyForQuery', status: origin.status }),
      ])
    )
    tracker = new ResponseTracker(
      origin.status,
      profile.text.active ? (frame) => maskNoticeFrame(frame, profile.text) : undefined
    )
    const limits = sessionLimits({
      idleTimeoutMs: target.idleTimeoutMs,
      maxSessionMs: target.maxSessionMs,
      lastActivity: () => summary.lastClientActivity,
      busy: () => tracker?.pending !== 0 || summary.holding,
    })
    // Once the session ends, nothing more of the origin's reaches the client (the answer
    // to the gateway's own CancelRequest, say): the ending error is the last word.
    const relaying = new AbortController()
    const pumps = [
      pumpClient(
        session,
        clientFrames,
        clientWriter,
        origin,
        tracker,
        summary,
        client.closed,
        masking
      ),
      pumpOrigin(origin, clientWriter, tracker, summary, relaying.signal),
      limits.expired,
      untilAborted(killed),
    ]
    try {
      summary.ended = await Promise.race(pumps)
    } finally {
      limits.stop()
      relaying.abort()
    }
    return summary
  } catch (error) {
    summary.ended = error instanceof Error ? error.message : String(error)
    const wire = toWireError(error, true)
    if (!(error instanceof ProtocolError) && error instanceof GatehouseError)
      session.recordRefusal(error)
    await clientWriter.write(errorResponse(wire)).catch(() => {})
    return summary
  } finally {
    // However the session ended (hang-up, limit, refusal), no statement is left running.
    if (tracker && tracker.pending > 0 && origin?.backendKey) {
      const { processId, secretKey } = origin.backendKey
      await sendCancelRequest(
        PostgresTarget.parse(session.connection.target),
        processId,
        secretKey
      ).catch(() => {})
    }
    // Every command still waiting for the origin ends now, so the session can close.
    tracker?.abandon()
    await origin?.close()
    await clientWriter.close().catch(() => {})
    await clientFrames.cancel()
  }
}

async function pumpClient(
  session: GatewaySession,
  frames: FrameStream,
  clientWriter: WritableStreamDefaultWriter<Uint8Array>,
  origin: OriginSession,
  tracker: ResponseTracker,
  summary: TunnelSummary,
  clientGone: AbortSignal | undefined,
  masking: PostgresMasking | undefined
): Promise<string> {
  const state = new ExtendedState()
  // A held statement waits in place; the client is told where it can be approved.
  const hold: HoldOptions = {
    onPending: async (pending) => {
      summary.holding = true
      await clientWriter.write(
        noticeResponse(
          `Waiting for approval: ${pending.url}`,
          `gatehouse: approval ${pending.id} expires at ${new Date(pending.expiresAt).toISOString()}`
        )
      )
    },
    ...(clientGone ? { signal: clientGone } : {}),
  }
  const endHold = () => {
    if (!summary.holding) return
    summary.holding = false
    summary.lastClientActivity = Date.now()
  }
  let pending: MessageFrame[] = []
  let pendingBytes = 0
  // After a refused Flush-ended batch the server would discard up to Sync; so do we.
  let skipUntilSync = false
  // Messages of the current implicit transaction already sent (a Flush-ended batch).
  let forwardedSinceSync = false

  const toOrigin = async (bytes: Uint8Array) => {
    summary.bytesUp += bytes.byteLength
    await origin.writer.write(bytes)
  }
  const toClient = async (chunks: Uint8Array[]) => {
    if (chunks.length) await clientWriter.write(concatBytes(chunks))
  }

  const forwardBatch = async (batchFrames: MessageFrame[]) => {
    const batch = await buildBatch(batchFrames, state)
    const endsWithSync = batchFrames.at(-1)?.type === 'S'
    const send = async (settles: Map<SqlCommand, Settle>) => {
      const expectations: Expectation[] = []
      const frames: Uint8Array[] = []
      const masks = masking ? resultMaskers(batch.items, masking) : undefined
      for (const [index, item] of batch.items.entries()) {
        const mask = masks?.get(index)
        if (mask && item.message.type === 'Execute' && !mask.described) {
          // The client did not ask for the columns; the masker needs them, so ask quietly.
          expectations.push({ kind: 'hidden-describe', mask: mask.masker })
          frames.push(describePortal(item.message.portal))
        }
        frames.push(item.frame.bytes)
        if (!item.expectation) continue
        const settle = item.command ? settles.get(item.command) : undefined
        if (settle && mask) settle.masked = mask.masker.tally
        expectations.push({
          kind: item.expectation,
          ...(settle ? { settle } : {}),
          ...(mask ? { mask: mask.masker } : {}),
        } as Expectation)
      }
      await toClient(tracker.expect(...expectations))
      await toOrigin(concatBytes(frames))
      batch.commit()
      forwardedSinceSync = batch.end === 'flush'
    }
    if (batch.commands.length === 0) return send(new Map())
    try {
      await session.runBatch(
        batch.commands,
        async () => {
          endHold()
          const settles = new Map(batch.commands.map((command) => [command, new Settle()]))
          await send(settles)
          return {
            result: undefined,
            settled: batch.commands.map((command) => (settles.get(command) as Settle).outcome),
          }
        },
        hold,
        masking?.vet
      )
    } catch (error) {
      endHold()
      if (!(error instanceof GatehouseError)) throw error
      // Refused: answer as Postgres would for a failed batch, and keep the session usable.
      const wire = toWireError(error)
      const answersReady = batch.end === 'ready' && !(endsWithSync && forwardedSinceSync)
      if (answersReady && (tracker.status !== 'I' || tracker.pending > 0)) {
        // Possibly inside a transaction: a real error would abort it, so make the origin's
        // fail too (COMMIT then rolls back), and show the client only the refusal.
        await toClient(tracker.expect({ kind: 'abort', frames: [errorResponse(wire)] }))
        await toOrigin(encodeFrontendMessage({ type: 'Query', sql: ABORT_TRANSACTION_SQL }))
        return
      }
      await toClient(
        tracker.expect({
          kind: 'synthetic',
          frames: (status) => [
            errorResponse(wire),
            ...(answersReady ? [encodeBackendMessage({ type: 'ReadyForQuery', status })] : []),
          ],
        })
      )
      if (batch.end === 'flush') skipUntilSync = true
      else if (endsWithSync && forwardedSinceSync) {
        // The origin is mid-transaction from an earlier Flush: let its Sync end it.
        const sync = batchFrames.at(-1)
        if (sync) {
          await toClient(tracker.expect({ kind: 'sync' }))
          await toOrigin(sync.bytes)
        }
        forwardedSinceSync = false
      }
    }
  }

  for (;;) {
    const available = await frames.available()
    if (!available) return 'client closed'
    summary.lastClientActivity = Date.now()
    const copied: Uint8Array[] = []
    const flushCopy = async () => {
      if (copied.length) await toOrigin(concatBytes(copied.splice(0)))
    }
    for (const frame of available) {
      if (frame.phase !== 'normal')
        throw new ProtocolError('protocol.malformed', 'A startup message after startup.')
      // Refuse an unknown message at once, rather than holding it until the batch ends.
      if (!CLIENT_TYPES.has(frame.type)) {
        throw new ProtocolError(
          'protocol.malformed',
          `A client may not send message type ${JSON.stringify(frame.type)}.`
        )
      }
      if (skipUntilSync) {
        if (frame.type !== 'S') continue
        skipUntilSync = false
        if (forwardedSinceSync) {
          await toClient(tracker.expect({ kind: 'sync' }))
          await toOrigin(frame.bytes)
          forwardedSinceSync = false
        } else {
          await toClient(
            tracker.expect({
              kind: 'synthetic',
              frames: (status) => [encodeBackendMessage({ type: 'ReadyForQuery', status })],
            })
          )
        }
        continue
      }
      if (COPY_TYPES.has(frame.type)) {
        // Rows of a COPY that arrived together go to the origin in one write.
        copied.push(frame.bytes)
        continue
      }
      await flushCopy()
      if (frame.type === 'X') {
        await toOrigin(frame.bytes)
        return 'client terminated'
      }
      pending.push(frame)
      pendingBytes += frame.bytes.byteLength
      if (pendingBytes > MAX_BATCH_BYTES) {
        throw new ProtocolError('protocol.too_large', 'Too many messages without a Sync.')
      }
      if (BATCH_ENDS.has(frame.type)) {
        const batchFrames = pending
        pending = []
        pendingBytes = 0
        await forwardBatch(batchFrames)
      }
    }
    await flushCopy()
  }
}

async function pumpOrigin(
  origin: OriginSession,
  clientWriter: WritableStreamDefaultWriter<Uint8Array>,
  tracker: ResponseTracker,
  summary: TunnelSummary,
  relaying: AbortSignal
): Promise<string> {
  for (;;) {
    const frames = await origin.frames.available()
    if (!frames) return 'origin closed'
    if (relaying.aborted) return 'session ended'
    const out: Uint8Array[] = []
    for (const frame of frames) {
      if (frame.phase !== 'normal')
        throw new ProtocolError('protocol.malformed', 'Unexpected message from the origin.')
      if (frame.type === 'S') guardSetting(frame)
      summary.bytesDown += frame.bytes.byteLength
      out.push(...tracker.accept(frame))
    }
    await clientWriter.write(concatBytes(out))
  }
}

/**
 * A ResultMasker for each message whose responses carry rows (Query, Execute), keyed by
 * its index in the batch; a client Describe of a portal shares the masker of the Execute
 * that follows it (marked `described`).
 */
function resultMaskers(
  items: readonly BatchItem[],
  masking: PostgresMasking
): Map<number, { masker: ResultMasker; described: boolean }> {
  const masks = new Map<number, { masker: ResultMasker; described: boolean }>()
  const describedAt = new Map<string, number>()
  for (const [index, item] of items.entries()) {
    const message = item.message
    if (message.type === 'Describe' && message.target === 'portal') {
      describedAt.set(message.name, index)
    } else if (message.type === 'Bind') {
      describedAt.delete(message.portal)
    } else if ((message.type === 'Query' || message.type === 'Execute') && item.command) {
      const masker = masking.resultMasker(item.command)
      if (!masker) continue
      const describe = message.type === 'Execute' ? describedAt.get(message.portal) : undefined
      masks.set(index, { masker, described: describe !== undefined })
      if (describe !== undefined) masks.set(describe, { masker, described: true })
    }
  }
  return masks
}

function describePortal(portal: string): Uint8Array {
  return encodeFrontendMessage({ type: 'Describe', target: 'portal', name: portal })
}

function cancelCommand(processId: number): SqlCommand {
  return {
    kind: 'sql',
    text: `<cancel request for backend ${processId}>`,
    statements: [
      {
        text: '',
        class: 'utility',
        kind: 'CancelRequest',
        writes: false,
        tables: [],
        functions: [],
        risks: [],
      },
    ],
    via: 'extended',
  }
}

function guardSetting(frame: MessageFrame): void {
  const message = decodeBackendMessage(frame)
  if (message.type !== 'ParameterStatus') return
  const allowed = GUARDED_SETTINGS[message.name]
  if (allowed && !allowed(message.value)) {
    throw new GatehouseError(
      'policy.unsafe_session',
      `The origin session changed ${message.name} to ${message.value}; Gatehouse can no longer read SQL the way the server does, so the session was ended.`
    )
  }
}

/**
 * Rejects with the signal's reason once it aborts: a killed session ends with it (FATAL
 * 57P01, as for pg_terminate_backend), and the running statement is cancelled on the way out.
 */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}
