/**
 * Which origin response belongs to which client message. Every message forwarded to the
 * origin queues what it will answer (55.2 Message Flow): Parse → ParseComplete, Execute →
 * rows then CommandComplete, Sync → ReadyForQuery, a simple Query → everything up to
 * ReadyForQuery. Origin messages feed the head of the queue, which is how each command
 * gets its outcome (rows, tags, error). After an error in the extended protocol the
 * server skips to Sync, and so does the queue. Responses the gateway makes up (a refused
 * batch) wait in the same queue, so the client sees everything in protocol order.
 */

import { type MaskTally, tallyReport } from '../../masking/types.ts'
import type { Outcome } from '../../pipeline/types.ts'
import { decodeBackendMessage, type TransactionStatus } from './codec/backend.ts'
import type { MessageFrame } from './codec/framer.ts'
import type { ResultMasker } from './masking/result-masker.ts'

/** What one command's responses added up to, for its outcome event. */
export type CommandResult = {
  tags: string[]
  rows: number
  columns: string[]
  bytes: number
  error?: { sqlState: string; message: string }
}

export type Expectation =
  | { kind: 'parse' | 'bind' | 'close'; settle?: Settle }
  /** A client's Describe of a portal; `mask` learns the columns the next Execute returns. */
  | { kind: 'describe-portal'; settle?: Settle; mask?: ResultMasker }
  /** A Describe the gateway added so `mask` knows the columns; its answer is not relayed. */
  | { kind: 'hidden-describe'; mask: ResultMasker }
  | { kind: 'describe-statement' }
  | { kind: 'execute'; settle?: Settle; mask?: ResultMasker }
  | { kind: 'sync' }
  | { kind: 'query'; settle?: Settle; mask?: ResultMasker }
  | { kind: 'function'; settle?: Settle }
  /** Frames the gateway answers itself, made when they reach the head (to use the current status). */
  | {
      kind: 'synthetic'
      frames: (status: TransactionStatus) => Uint8Array[]
    }
  /**
   * A statement the gateway sent only to make the origin's transaction fail (a refusal
   * inside a transaction must abort it, as a real error would): its error is replaced by
   * `frames`, and its ReadyForQuery (now status E) goes to the client.
   */
  | { kind: 'abort'; frames: Uint8Array[] }

/** Collects one command's responses and resolves its outcome. */
export class Settle {
  readonly outcome: Promise<Outcome>
  readonly result: CommandResult = { tags: [], rows: 0, columns: [], bytes: 0 }
  /** What masking rewrote in this command's responses. */
  masked: MaskTally | undefined
  #resolve: (outcome: Outcome) => void = () => {}

  constructor() {
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve
    })
  }

  finish(skipped = false): void {
    const { error, ...summary } = this.result
    const masked = this.masked?.size ? { masked: tallyReport(this.masked) } : {}
    this.#resolve({
      status: error || skipped ? 'error' : 'ok',
      summary: {
        ...summary,
        ...(error ? { error } : {}),
        ...(skipped ? { skipped: true } : {}),
        ...masked,
      },
      ...(error ? { errorCode: 'origin.error' } : skipped ? { errorCode: 'origin.skipped' } : {}),
      bytesDown: this.result.bytes,
    })
  }
}

/** Messages the server may send at any time, outside any command's responses. */
const ASYNC_TYPES = new Set(['N', 'S', 'A'])

export class ResponseTracker {
  readonly #queue: Expectation[] = []
  #status: TransactionStatus = 'I'

  /** Masks origin errors and notices (detectors), when masking is on. */
  readonly #maskNotice: ((frame: MessageFrame) => Uint8Array) | undefined

  constructor(initialStatus: TransactionStatus, maskNotice?: (frame: MessageFrame) => Uint8Array) {
    this.#status = initialStatus
    this.#maskNotice = maskNotice
  }

  get status(): TransactionStatus {
    return this.#status
  }

  get pending(): number {
    return this.#queue.length
  }

  /** Queues what forwarded (or refused) messages will be answered with; returns frames due now. */
  expect(...expectations: Expectation[]): Uint8Array[] {
    this.#queue.push(...expectations)
    return this.#drainSynthetic()
  }

  /** Takes one origin message; returns what to send the client, in order. */
  accept(frame: MessageFrame): Uint8Array[] {
    let out: Uint8Array[] = [
      this.#maskNotice && (frame.type === 'E' || frame.type === 'N')
        ? this.#maskNotice(frame)
        : frame.bytes,
    ]
    if (ASYNC_TYPES.has(frame.type)) return out
    const head = this.#queue[0]
    if (!head || head.kind === 'synthetic') return out
    switch (head.kind) {
      case 'describe-portal':
      case 'hidden-describe':
        if (frame.type === 'T') {
          const message = decodeBackendMessage(frame)
          if (message.type === 'RowDescription') head.mask?.describe(message.fields)
        }
        if (head.kind === 'hidden-describe' && frame.type !== 'E') out = []
        if (frame.type === 'E')
          this.#failExtended(head.kind === 'hidden-describe' ? undefined : head.settle, frame)
        else if (frame.type !== 't')
          this.#pop(head.kind === 'hidden-describe' ? undefined : head.settle)
        break
      case 'parse':
      case 'bind':
      case 'close':
        if (frame.type === 'E') this.#failExtended(head.settle, frame)
        else if (frame.type !== 't') this.#pop(head.settle)
        break
      case 'describe-statement':
        if (frame.type === 'E') this.#failExtended(undefined, frame)
        else if (frame.type === 'T' || frame.type === 'n') this.#pop()
        break
      case 'execute':
        this.#observe(head.settle, frame)
        if (head.mask && frame.type !== 'E') out = head.mask.transform(frame)
        if (frame.type === 'E') this.#failExtended(head.settle, frame)
        else if (frame.type === 'C' || frame.type === 'I' || frame.type === 's')
          this.#pop(head.settle)
        break
      case 'sync':
        if (frame.type === 'Z') {
          this.#ready(frame)
          this.#pop()
        }
        break
      case 'abort':
        // Only its ReadyForQuery reaches the client, behind the gateway's own error.
        if (frame.type !== 'Z') return []
        this.#ready(frame)
        this.#queue.shift()
        out.unshift(...head.frames)
        break
      case 'query':
      case 'function':
        this.#observe(head.settle, frame)
        if (head.kind === 'query' && head.mask && frame.type !== 'E' && frame.type !== 'N')
          out = head.mask.transform(frame)
        if (frame.type === 'Z') {
          this.#ready(frame)
          this.#pop(head.settle)
        }
        break
    }
    out.push(...this.#drainSynthetic())
    return out
  }

  /** The origin went away: every waiting command ends in error. */
  abandon(): void {
    for (const expectation of this.#queue.splice(0)) {
      if ('settle' in expectation) expectation.settle?.finish(true)
    }
  }

  #observe(settle: Settle | undefined, frame: MessageFrame): void {
    if (!settle) return
    const result = settle.result
    switch (frame.type) {
      case 'D':
      case 'd':
        result.rows += frame.type === 'D' ? 1 : 0
        result.bytes += frame.bytes.byteLength
        break
      case 'T': {
        const message = decodeBackendMessage(frame)
        if (message.type === 'RowDescription')
          result.columns = message.fields.map((field) => field.name)
        break
      }
      case 'C': {
        const message = decodeBackendMessage(frame)
        if (message.type === 'CommandComplete') result.tags.push(message.tag)
        break
      }
      case 'E': {
        const message = decodeBackendMessage(frame)
        if (message.type === 'ErrorResponse') {
          result.error = {
            sqlState: message.fields.code ?? '',
            message: message.fields.message ?? '',
          }
        }
        break
      }
    }
  }

  /** An extended-protocol error: the server now discards everything up to the next Sync. */
  #failExtended(settle: Settle | undefined, frame: MessageFrame): void {
    if (settle && !settle.result.error) this.#observe(settle, frame)
    this.#pop(settle)
    while (this.#queue.length > 0) {
      const next = this.#queue[0]
      if (!next || next.kind === 'sync' || next.kind === 'synthetic') break
      this.#queue.shift()
      if ('settle' in next) next.settle?.finish(true)
    }
  }

  #ready(frame: MessageFrame): void {
    const message = decodeBackendMessage(frame)
    if (message.type === 'ReadyForQuery') this.#status = message.status
  }

  #pop(settle?: Settle): void {
    this.#queue.shift()
    settle?.finish()
  }

  #drainSynthetic(): Uint8Array[] {
    const out: Uint8Array[] = []
    for (let head = this.#queue[0]; head?.kind === 'synthetic'; head = this.#queue[0]) {
      this.#queue.shift()
      out.push(...head.frames(this.#status))
    }
    return out
  }
}
