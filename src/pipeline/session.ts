/**
 * The spine of the request path, shared by every protocol:
 *
 *   openSession:  authenticate the caller and authorize it for the connection
 *   session.run:  decide → record (write-ahead) → pause → forward → mask → record
 *
 * Adapters supply the classified command and a `forward` function; refusals at any step
 * are recorded and thrown as GatehouseErrors for the adapter to put on its wire.
 */
import { alertCommandBlocked } from '../alerts/notify.ts'
import {
  type ConnectionRow,
  connectionByNameQuery,
  openConnectionCredential,
} from '../connections/store.ts'
import { type KillWatch, SessionKilled, watchForKill } from '../containment/kill-watch.ts'
import { findLock, type LockRow, lockedError, locksQuery } from '../containment/locks.ts'
import { GatehouseError, toGatehouseError } from '../errors.ts'
import { agentTokenByHashQuery, touchAgentToken } from '../identity/agent-token-store.ts'
import {
  callerFromAgentToken,
  callerFromJwt,
  classifyBearer,
  IdentifiedRefusal,
} from '../identity/authenticate.ts'
import { readBearerToken } from '../identity/bearer.ts'
import { createHttpBodyMasker } from '../masking/http-body.ts'
import { type MaskingProfile, maskingProfile } from '../masking/profile.ts'
import { maskForRecord } from '../masking/record.ts'
import { type MaskTally, tallyReport } from '../masking/types.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import { decide, isGranted } from '../policy/decide.ts'
import { type Principals, principalsOf } from '../policy/principals.ts'
import { compiledPolicyAt, type PolicyHead, policyHeadQuery } from '../policy/store.ts'
import { SessionRecorder } from '../recorder/session-recorder.ts'
import { type TerminalHeader, TerminalRecorder } from '../recorder/terminal-recorder.ts'
import { terminalPrefix } from '../recorder/transcript-keys.ts'
import type { Gateway } from './gateway.ts'
import { type BodyMasker, UNMASKED } from './mask.ts'
import type { HoldOptions } from './pause.ts'
import type { Caller, Command, ConnectionKind, ConnectionRef, Decision, Outcome } from './types.ts'

/** See GatewaySession.close. */
const YIELD_BEFORE_CLOSE_MS = 1

export type SessionRequest = {
  /** The caller's `Authorization` header: authentication happens here, with authorization. */
  authorization: string | null | undefined
  connectionName: string
  /** The adapter's protocol, recorded with the session (`http`, `postgres`, …). */
  protocol: string
  /** For adapters serving several kinds (the tunnel): the protocol recorded per kind. */
  protocolByKind?: Partial<Record<ConnectionKind, string>>
  /** The connection kinds this adapter can serve. */
  kinds: readonly ConnectionKind[]
  client: { ip?: string; userAgent?: string }
  /** Extra facts for the session.start event, refusals included (MCP: the tool called). */
  details?: Record<string, unknown>
}

/** Who a session records as its caller, and on which connection. */
type SessionSubject = {
  caller: Caller
  connectionName: string
  protocol: string
  client: SessionRequest['client']
  details?: Record<string, unknown>
}

export type ForwardContext = {
  sessionId: string
  connection: ConnectionRow
  /** Opens the connection's stored credential; only reachable after an allow. */
  credential: () => Promise<unknown>
  /** What is masked for this caller (protocols with rows apply it themselves). */
  masking: MaskingProfile
  /** Masks an HTTP-style body by the profile's JSON paths and detectors. */
  masker: BodyMasker
  /** What `masker` masked, reported with the outcome of a single command. */
  tally: MaskTally
}

/**
 * Checks a command against what only the adapter knows (the origin's catalog, say) before
 * anything is written or forwarded; a returned error refuses the whole batch.
 */
export type Vet = (command: Command) => GatehouseError | undefined

/** What forwarding produced now, and a promise of how it ends (after streaming, say). */
export type Forwarded<T> = { result: T; settled: Promise<Outcome> }

export type Forward<T> = (context: ForwardContext) => Promise<Forwarded<T>>

/** Forwarding a batch: one result, and one outcome per command, in order. */
export type BatchForwarded<T> = { result: T; settled: Promise<Outcome>[] }
export type BatchForward<T> = (context: ForwardContext) => Promise<BatchForwarded<T>>

/**
 * Authenticates the caller and authorizes it for the connection, with every lookup in one
 * D1 round trip (agent token, connection, policy version, locks); then starts recording.
 * Refusals of a caller we can name are recorded; unknown callers are only logged.
 */
export async function openSession(
  gateway: Gateway,
  request: SessionRequest
): Promise<GatewaySession> {
  const credential = await classifyBearer(readBearerToken(request.authorization), gateway.config)
  const { db } = gateway
  const connectionQuery = connectionByNameQuery(db, request.connectionName)
  const headQuery = policyHeadQuery(db)
  const lockQuery = locksQuery(db, credential, request.connectionName)
  let connections: ConnectionRow[]
  let heads: PolicyHead[]
  let locks: LockRow[]
  let caller: Caller
  try {
    if (credential.kind === 'agent_token') {
      const [connectionRows, headRows, lockRows, tokenRows] = await db.batch([
        connectionQuery,
        headQuery,
        lockQuery,
        agentTokenByHashQuery(db, credential.hash),
      ])
      const authenticated = callerFromAgentToken(tokenRows[0], gateway.now())
      const token = authenticated.agentToken
      if (token) gateway.waitUntil(touchAgentToken(db, token, gateway.now()).catch(() => {}))
      ;[connections, heads, locks, caller] = [
        connectionRows,
        headRows,
        lockRows,
        authenticated.caller,
      ]
    } else {
      ;[[connections, heads, locks], caller] = await Promise.all([
        db.batch([connectionQuery, headQuery, lockQuery]),
        callerFromJwt(credential.token, gateway.config, gateway.now()),
      ])
    }
  } catch (error) {
    if (error instanceof IdentifiedRefusal)
      recordRefusal(gateway, { ...request, caller: error.caller }, error)
    throw error
  }

  const lock = findLock(locks, caller, request.connectionName)
  if (lock) {
    const error = lockedError(lock)
    recordRefusal(gateway, { ...request, caller }, error)
    throw error
  }

  const connection = connections[0]
  const policy = await compiledPolicyAt(db, heads[0])
  const principals = principalsOf(caller, policy)
  const protocol = (connection && request.protocolByKind?.[connection.kind]) ?? request.protocol
  const subject: SessionSubject = { ...request, protocol, caller }
  const refusal = authorize(subject, request.kinds, connection, policy, principals)
  if (refusal || !connection) {
    const error =
      refusal ??
      new GatehouseError('connection.not_found', `No connection named "${request.connectionName}".`)
    recordRefusal(gateway, subject, error)
    throw error
  }
  return new GatewaySession(gateway, subject, connection, policy, principals)
}

function authorize(
  subject: SessionSubject,
  kinds: readonly ConnectionKind[],
  connection: ConnectionRow | undefined,
  policy: CompiledPolicy,
  principals: Principals
): GatehouseError | undefined {
  const name = subject.connectionName
  if (!connection) {
    return new GatehouseError('connection.not_found', `No connection named "${name}".`)
  }
  const denied = (detail: string) =>
    new GatehouseError('access.denied', `You are not allowed to use connection "${name}".`, {
      detail,
    })
  const { scope, tokenId } = subject.caller
  if (!scope.includes('*') && !scope.includes(name)) {
    return denied(`token ${tokenId ?? '?'} is scoped to ${scope.join(',')}`)
  }
  if (!isGranted(policy, principals, name)) {
    return denied(
      `policy v${policy.version} grants none of ${[...principals].join(',') || '(none)'}`
    )
  }
  if (!kinds.includes(connection.kind)) {
    return new GatehouseError(
      'request.wrong_protocol',
      `Connection "${name}" is a ${connection.kind} connection and cannot be used over ${subject.protocol}.`
    )
  }
  return undefined
}

/** Records a refused session start (403, 404, revoked token, …) without holding up the answer. */
export function recordRefusal(
  gateway: Gateway,
  subject: SessionSubject,
  error: GatehouseError
): void {
  const recorder = new SessionRecorder(gateway, subject)
  recorder.recordRefusal(error.code, error.message, error.detail ? { detail: error.detail } : {})
  gateway.waitUntil(
    recorder.close().catch((cause) => console.error('recording a refusal failed', { cause }))
  )
}

export class GatewaySession {
  readonly connection: ConnectionRow
  readonly ref: ConnectionRef
  readonly caller: Caller
  readonly #gateway: Gateway
  readonly #policy: CompiledPolicy
  readonly #principals: Principals
  /** What this caller sees masked; transcripts are masked with `masking.record` regardless. */
  readonly masking: MaskingProfile
  readonly #recorder: SessionRecorder
  readonly #outcomes = new Set<Promise<void>>()
  #killWatch: KillWatch | undefined
  /** Aborted by close: a command still held for approval then stops waiting. */
  readonly #ending = new AbortController()
  /** Commands waiting for approval; close waits for them to be refused and recorded. */
  readonly #holds = new Set<Promise<unknown>>()
  #terminals = 0

  constructor(
    gateway: Gateway,
    subject: SessionSubject,
    connection: ConnectionRow,
    policy: CompiledPolicy,
    principals: Principals
  ) {
    this.#gateway = gateway
    this.caller = subject.caller
    this.connection = connection
    this.ref = { id: connection.id, name: connection.name, kind: connection.kind }
    this.#policy = policy
    this.#principals = principals
    this.masking = maskingProfile(policy, connection.name, principals, gateway.config.maskingSecret)
    this.#recorder = new SessionRecorder(gateway, {
      protocol: subject.protocol,
      connectionName: connection.name,
      caller: subject.caller,
      client: subject.client,
      details: {
        ...subject.details,
        connectionId: connection.id,
        kind: connection.kind,
        policyVersion: policy.version,
      },
    })
  }

  get id(): string {
    return this.#recorder.id
  }

  /**
   * Aborts, with a SessionKilled error as its reason, when a responder kills this session
   * (containment/kill.ts). Armed on first read: long-lived sessions (tunnels, held
   * commands) read it, short requests never pay for the watch. Arming also indexes the
   * session as open at once, so a lock on its caller or connection finds it while it lives.
   */
  get killed(): AbortSignal {
    if (!this.#killWatch) {
      const watch = watchForKill(this.#gateway.sessionControls, this.id)
      this.#killWatch = watch
      watch.signal.addEventListener('abort', () => this.#recordKill(watch.signal.reason), {
        once: true,
      })
      this.#gateway.waitUntil(
        this.#recorder
          .flush()
          .catch((cause) =>
            console.error('indexing a live session failed', { session: this.id, cause })
          )
      )
    }
    return this.#killWatch.signal
  }

  #recordKill(reason: unknown): void {
    if (!(reason instanceof SessionKilled)) return
    const { by, reason: why, at } = reason.kill
    try {
      this.#recorder.recordRefusal(reason.code, reason.message, {
        detail: reason.detail,
        killedBy: by,
        reason: why,
        killedAt: new Date(at).toISOString(),
      })
    } catch {
      // Closed already: the session ended before the kill reached it.
    }
  }

  /** Records a refusal that happened before a command could be formed (bad path, body too large). */
  recordRefusal(error: GatehouseError): void {
    // A kill is recorded once, when it arrives, with who and why.
    if (error instanceof SessionKilled) return
    this.#recorder.recordRefusal(
      error.code,
      error.message,
      error.detail ? { detail: error.detail } : {}
    )
  }

  /** What the policy would say about a command, without running it. */
  decide(command: Command): Decision {
    return decide(this.#policy, this.#principals, this.connection.name, command)
  }

  /** Runs one command through decide → record → pause → forward → record. */
  async run<T>(
    command: Command,
    forward: Forward<T>,
    hold: HoldOptions = {},
    vet?: Vet
  ): Promise<T> {
    return this.runBatch(
      [command],
      async (context) => {
        const { result, settled } = await forward(context)
        return { result, settled: [settled] }
      },
      hold,
      vet
    )
  }

  /**
   * Runs commands a client sent together (a pipelined batch) as one unit: all are decided
   * first, and if any is blocked none is forwarded; then all are written ahead in one
   * durable chunk, held together for approval if any needs it, forwarded once, and each
   * gets its own outcome from `settled` (in the same order).
   */
  async runBatch<T>(
    commands: readonly Command[],
    forward: BatchForward<T>,
    hold: HoldOptions = {},
    vet?: Vet
  ): Promise<T> {
    // Decided on what the caller sent; recorded (and shown to approvers) masked.
    const entries = commands.map((command) => ({
      ...maskForRecord({ command }, this.masking.record),
      decision: this.decide(command),
    }))
    const blocked = entries.find((entry) => entry.decision.action === 'block')
    const refusal = blocked
      ? new GatehouseError('policy.blocked', blocked.decision.reason, {
          data: { rule: blocked.decision.rule?.name ?? null },
        })
      : commands.map((command) => vet?.(command)).find((error) => error !== undefined)
    if (refusal) {
      for (const entry of entries) {
        const seq = this.#recorder.append('command', entry)
        this.#recorder.recordOutcome(seq, {
          status: 'blocked',
          summary: {},
          errorCode: refusal.code,
        })
      }
      alertCommandBlocked(this.#gateway, this, refusal)
      throw refusal
    }

    // Write-ahead: nothing reaches the origin unless these events are durable.
    const seqs = await this.#recorder.writeAheadCommands(entries)
    const refuseAll = (status: Outcome['status'], errorCode: string, startedAt?: number) => {
      for (const seq of seqs) {
        this.#recorder.recordOutcome(seq, {
          status,
          summary: {},
          errorCode,
          ...(startedAt === undefined ? {} : { durationMs: this.#gateway.now() - startedAt }),
        })
      }
    }

    const held = entries.findIndex((entry) => entry.decision.action === 'require_approval')
    const heldEntry = entries[held]
    if (heldEntry) {
      // A held command waits until decided, the client hangs up, the session is killed or ends.
      const killed = this.killed
      const ends = [killed, this.#ending.signal]
      const signal = AbortSignal.any(hold.signal ? [hold.signal, ...ends] : ends)
      let release!: () => void
      const holding = new Promise<void>((resolve) => {
        release = resolve
      })
      this.#holds.add(holding)
      try {
        await this.#gateway.approvals.awaitApproval({
          sessionId: this.id,
          commandSeq: seqs[held] ?? 0,
          caller: this.caller,
          connection: this.ref,
          command: commands[held] ?? heldEntry.command,
          shown: heldEntry.command,
          decision: heldEntry.decision,
          hold: { ...hold, signal },
          record: (data) => {
            this.#recorder.append('approval', data)
          },
        })
      } catch (error) {
        const refusal = toGatehouseError(killed.aborted ? killed.reason : error)
        refuseAll('blocked', refusal.code)
        throw refusal
      } finally {
        this.#holds.delete(holding)
        release()
      }
    }
    const kill = this.#killWatch?.signal
    if (kill?.aborted) {
      const refusal = toGatehouseError(kill.reason)
      refuseAll('blocked', refusal.code)
      throw refusal
    }

    const startedAt = this.#gateway.now()
    const tally: MaskTally = new Map()
    let forwarded: BatchForwarded<T>
    try {
      forwarded = await forward({
        sessionId: this.id,
        connection: this.connection,
        credential: () => this.#openCredential(),
        masking: this.masking,
        masker: this.#bodyMasker(tally),
        tally,
      })
    } catch (error) {
      const failure = toGatehouseError(error)
      refuseAll('error', failure.code, startedAt)
      throw failure
    }
    seqs.forEach((seq, index) => {
      const settled =
        forwarded.settled[index] ?? Promise.reject(new Error('no outcome for command'))
      const outcome = settled.then(
        (result) =>
          this.#recorder.recordOutcome(seq, {
            durationMs: this.#gateway.now() - startedAt,
            ...result,
            summary: this.#maskSummary(result.summary, tally),
          }),
        (error) =>
          this.#recorder.recordOutcome(seq, {
            status: 'error',
            summary: {},
            errorCode: toGatehouseError(error).code,
            durationMs: this.#gateway.now() - startedAt,
          })
      )
      this.#outcomes.add(outcome)
    })
    return forwarded.result
  }

  #bodyMasker(tally: MaskTally): BodyMasker {
    const { paths, text, detectors } = this.masking
    return paths.length || text.active
      ? createHttpBodyMasker({ paths, text, tally, detectors })
      : UNMASKED
  }

  /** An outcome as stored: detector-masked, with what the masker masked on the way out. */
  #maskSummary(summary: Record<string, unknown>, tally: MaskTally): Record<string, unknown> {
    const recorded = maskForRecord({ summary }, this.masking.record)
    const masked = [...(recorded.masked ?? []), ...tallyReport(tally)]
    return { ...recorded.summary, ...(masked.length ? { masked } : {}) }
  }

  /**
   * The connection's credential, for protocols that log in to the origin once per session
   * (Postgres, SSH) rather than per command. The session is already authorized.
   */
  loginCredential(): Promise<unknown> {
    return this.#openCredential()
  }

  /**
   * Starts recording a terminal (an SSH shell or pty) as asciicast beside the transcript,
   * masked like the transcript; `onFailure` must end the terminal (recording fails closed).
   */
  openTerminal(header: TerminalHeader, onFailure: (error: unknown) => void): TerminalRecorder {
    const terminal = this.#terminals++
    return new TerminalRecorder(
      {
        bucket: this.#gateway.bucket,
        now: this.#gateway.now,
        recordPart: (part) => this.#recorder.append('terminal', { terminal, ...part }),
        onFailure,
      },
      terminalPrefix(this.#recorder.prefix, terminal),
      this.masking.record,
      header
    )
  }

  /** Records a fact learned after the session started (what a wire client asked for, …). */
  recordDetail(data: Record<string, unknown>): void {
    this.#recorder.recordDetail(data)
  }

  async #openCredential(): Promise<unknown> {
    try {
      return await openConnectionCredential(this.connection, this.#gateway.config.credentialsKey)
    } catch (error) {
      throw new GatehouseError(
        'credential.unavailable',
        `The stored credential of connection "${this.connection.name}" cannot be opened; an administrator must set it again.`,
        { detail: error instanceof Error ? error.message : String(error), cause: error }
      )
    }
  }

  /** Ends the session once every forwarded command has settled; pass to waitUntil. */
  async close(details: Record<string, unknown> = {}): Promise<void> {
    this.#ending.abort(new Error('the session ended'))
    await Promise.allSettled(this.#holds)
    this.#killWatch?.stop()
    await Promise.allSettled(this.#outcomes)
    // Let the response leave first: on the local runtime, storage I/O shares the thread
    // that delivers it, and starting the final writes at once delays the caller's last bytes.
    await scheduler.wait(YIELD_BEFORE_CLOSE_MS)
    try {
      await this.#recorder.close(details)
    } catch (cause) {
      console.error('closing a session transcript failed', { session: this.id, cause })
    }
  }
}
