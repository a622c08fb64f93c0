/**
 * The spine of the request path, shared by every protocol:
 *
 *   openSession:  authorize the (already authenticated) caller for the connection
 *   session.run:  decide → record (write-ahead) → pause → forward → mask → record
 *
 * Adapters supply the classified command and a `forward` function; refusals at any step
 * are recorded and thrown as GatehouseErrors for the adapter to put on its wire.
 */
import {
  type ConnectionRow,
  connectionByNameQuery,
  openConnectionCredential,
} from '../connections/store.ts'
import { GatehouseError, toGatehouseError } from '../errors.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import { decide, isGranted } from '../policy/decide.ts'
import { type Principals, principalsOf } from '../policy/principals.ts'
import { compiledPolicyAt, policyHeadQuery } from '../policy/store.ts'
import { SessionRecorder } from '../recorder/session-recorder.ts'
import type { Gateway } from './gateway.ts'
import { type BodyMasker, UNMASKED } from './mask.ts'
import type { Caller, Command, ConnectionKind, ConnectionRef, Decision, Outcome } from './types.ts'

export type SessionRequest = {
  caller: Caller
  connectionName: string
  /** The adapter's protocol, recorded with the session (`http`, `postgres`, …). */
  protocol: string
  /** The connection kinds this adapter can serve. */
  kinds: readonly ConnectionKind[]
  client: { ip?: string; userAgent?: string }
}

export type ForwardContext = {
  sessionId: string
  connection: ConnectionRow
  /** Opens the connection's stored credential; only reachable after an allow. */
  credential: () => Promise<unknown>
  masker: BodyMasker
}

/** What forwarding produced now, and a promise of how it ends (after streaming, say). */
export type Forwarded<T> = { result: T; settled: Promise<Outcome> }

export type Forward<T> = (context: ForwardContext) => Promise<Forwarded<T>>

/** Authorizes the caller for the connection and starts recording; refusals are recorded. */
export async function openSession(
  gateway: Gateway,
  request: SessionRequest
): Promise<GatewaySession> {
  const [connections, heads] = await gateway.db.batch([
    connectionByNameQuery(gateway.db, request.connectionName),
    policyHeadQuery(gateway.db),
  ])
  const connection = connections[0]
  const policy = await compiledPolicyAt(gateway.db, heads[0])
  const principals = principalsOf(request.caller, policy)

  const refusal = authorize(request, connection, policy, principals)
  if (refusal || !connection) {
    const error =
      refusal ??
      new GatehouseError('connection.not_found', `No connection named "${request.connectionName}".`)
    recordRefusal(gateway, request, error)
    throw error
  }
  return new GatewaySession(gateway, request, connection, policy, principals)
}

function authorize(
  request: SessionRequest,
  connection: ConnectionRow | undefined,
  policy: CompiledPolicy,
  principals: Principals
): GatehouseError | undefined {
  const name = request.connectionName
  if (!connection) {
    return new GatehouseError('connection.not_found', `No connection named "${name}".`)
  }
  const denied = (detail: string) =>
    new GatehouseError('access.denied', `You are not allowed to use connection "${name}".`, {
      detail,
    })
  if (!request.caller.scope.includes('*') && !request.caller.scope.includes(name)) {
    return denied(
      `token ${request.caller.tokenId ?? '?'} is scoped to ${request.caller.scope.join(',')}`
    )
  }
  if (!isGranted(policy, principals, name)) {
    return denied(
      `policy v${policy.version} grants none of ${[...principals].join(',') || '(none)'}`
    )
  }
  if (!request.kinds.includes(connection.kind)) {
    return new GatehouseError(
      'request.wrong_protocol',
      `Connection "${name}" is a ${connection.kind} connection and cannot be used over ${request.protocol}.`
    )
  }
  return undefined
}

/** Records a refused session start (403, 404, revoked token, …) without holding up the answer. */
export function recordRefusal(
  gateway: Gateway,
  request: Omit<SessionRequest, 'kinds'>,
  error: GatehouseError
): void {
  const recorder = new SessionRecorder(gateway, {
    protocol: request.protocol,
    connectionName: request.connectionName,
    caller: request.caller,
    client: request.client,
  })
  recorder.recordRefusal(error.code, error.message, error.detail ? { detail: error.detail } : {})
  gateway.waitUntil(
    recorder.close().catch((cause) => console.error('recording a refusal failed', { cause }))
  )
}

export class GatewaySession {
  readonly connection: ConnectionRow
  readonly ref: ConnectionRef
  readonly #gateway: Gateway
  readonly #request: SessionRequest
  readonly #policy: CompiledPolicy
  readonly #principals: Principals
  readonly #recorder: SessionRecorder
  readonly #outcomes = new Set<Promise<void>>()

  constructor(
    gateway: Gateway,
    request: SessionRequest,
    connection: ConnectionRow,
    policy: CompiledPolicy,
    principals: Principals
  ) {
    this.#gateway = gateway
    this.#request = request
    this.connection = connection
    this.ref = { id: connection.id, name: connection.name, kind: connection.kind }
    this.#policy = policy
    this.#principals = principals
    this.#recorder = new SessionRecorder(gateway, {
      protocol: request.protocol,
      connectionName: connection.name,
      caller: request.caller,
      client: request.client,
      details: {
        connectionId: connection.id,
        kind: connection.kind,
        policyVersion: policy.version,
      },
    })
  }

  get id(): string {
    return this.#recorder.id
  }

  /** Records a refusal that happened before a command could be formed (bad path, body too large). */
  recordRefusal(error: GatehouseError): void {
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
  async run<T>(command: Command, forward: Forward<T>): Promise<T> {
    const decision = this.decide(command)
    if (decision.action === 'block') {
      const seq = this.#recorder.append('command', { command, decision })
      this.#recorder.recordOutcome(seq, {
        status: 'blocked',
        summary: {},
        errorCode: 'policy.blocked',
      })
      throw new GatehouseError('policy.blocked', decision.reason, {
        data: { rule: decision.rule?.name ?? null },
      })
    }

    // Write-ahead: nothing reaches the origin unless this event is durable.
    const seq = await this.#recorder.writeAheadCommand(command, decision)

    if (decision.action === 'require_approval') {
      try {
        await this.#gateway.approvals.awaitApproval({
          sessionId: this.id,
          commandSeq: seq,
          caller: this.#request.caller,
          connection: this.ref,
          command,
          decision,
        })
      } catch (error) {
        const refusal = toGatehouseError(error)
        this.#recorder.recordOutcome(seq, {
          status: 'blocked',
          summary: {},
          errorCode: refusal.code,
        })
        throw refusal
      }
    }

    const startedAt = this.#gateway.now()
    let forwarded: Forwarded<T>
    try {
      forwarded = await forward({
        sessionId: this.id,
        connection: this.connection,
        credential: () => this.#openCredential(),
        masker: UNMASKED,
      })
    } catch (error) {
      const failure = toGatehouseError(error)
      this.#recorder.recordOutcome(seq, {
        status: 'error',
        summary: {},
        errorCode: failure.code,
        durationMs: this.#gateway.now() - startedAt,
      })
      throw failure
    }
    const outcome = forwarded.settled.then(
      (settled) =>
        this.#recorder.recordOutcome(seq, {
          durationMs: this.#gateway.now() - startedAt,
          ...settled,
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
    return forwarded.result
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
    await Promise.allSettled(this.#outcomes)
    try {
      await this.#recorder.close(details)
    } catch (cause) {
      console.error('closing a session transcript failed', { session: this.id, cause })
    }
  }
}
