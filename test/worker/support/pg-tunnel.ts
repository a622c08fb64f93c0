/**
 * A minimal Postgres client for tests inside workerd: it opens the gateway's tunnel through
 * the Worker's own fetch handler and speaks protocol 3.0 with the project's codec, so tests
 * can check exactly which messages the gateway sends back.
 */
import { exports } from 'cloudflare:workers'
import { expect } from 'vitest'
import { concatBytes } from '../../../src/encoding.ts'
import {
  type BackendMessage,
  decodeBackendMessage,
} from '../../../src/protocols/postgres/codec/backend.ts'
import { MessageFramer } from '../../../src/protocols/postgres/codec/framer.ts'
import {
  encodeFrontendMessage,
  type FrontendMessage,
} from '../../../src/protocols/postgres/codec/frontend.ts'
import {
  encodeStartupPhaseMessage,
  PROTOCOL_VERSION_3_0,
} from '../../../src/protocols/postgres/codec/startup.ts'
import { GATEWAY } from './gateway.ts'

export type QueryResult = {
  columns: string[]
  rows: (string | null)[][]
  tags: string[]
  errors: { code: string; message: string; detail?: string }[]
  notices: string[]
  status: string
  messages: BackendMessage['type'][]
}

export class PgTunnel {
  readonly socket: WebSocket
  readonly sessionId: string
  readonly #framer = new MessageFramer({ phase: 'normal' })
  readonly #queue: BackendMessage[] = []
  #raw: Uint8Array[] = []
  #waiter: (() => void) | undefined
  #closed = false
  greeting: BackendMessage[] = []

  private constructor(socket: WebSocket, sessionId: string) {
    this.socket = socket
    this.sessionId = sessionId
    socket.addEventListener('message', (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer)
      this.#raw.push(bytes)
      this.#wake()
    })
    socket.addEventListener('close', () => {
      this.#closed = true
      this.#wake()
    })
  }

  /** Opens the tunnel, answers nothing but SSL 'N', logs in; throws the HTTP refusal if any. */
  static async open(
    connection: string,
    token: string,
    parameters: Record<string, string> = {}
  ): Promise<PgTunnel> {
    const response = await exports.default.fetch(
      new Request(`${GATEWAY}/v1/connections/${connection}/tunnel`, {
        headers: { upgrade: 'websocket', authorization: `Bearer ${token}` },
      })
    )
    if (!response.webSocket) {
      throw Object.assign(new Error(`tunnel refused: ${response.status}`), { response })
    }
    response.webSocket.binaryType = 'arraybuffer'
    response.webSocket.accept()
    const tunnel = new PgTunnel(response.webSocket, '')
    tunnel.send(encodeStartupPhaseMessage({ type: 'SSLRequest' }))
    expect(await tunnel.rawBytes(1)).toEqual(new Uint8Array([0x4e]))
    tunnel.send(
      encodeStartupPhaseMessage({
        type: 'StartupMessage',
        protocolVersion: PROTOCOL_VERSION_3_0,
        parameters: {
          user: 'whoever',
          database: 'anything',
          application_name: 'gatehouse-tests',
          ...parameters,
        },
      })
    )
    tunnel.greeting = await tunnel.until('ReadyForQuery')
    return tunnel
  }

  send(bytes: Uint8Array): void {
    this.socket.send(bytes)
  }

  sendMessages(...messages: FrontendMessage[]): void {
    this.send(concatBytes(messages.map(encodeFrontendMessage)))
  }

  /** A simple-protocol query, collected up to ReadyForQuery. */
  async query(sql: string): Promise<QueryResult> {
    this.sendMessages({ type: 'Query', sql })
    return summarize(await this.until('ReadyForQuery'))
  }

  /** Parse/Bind/Describe/Execute/Sync with text parameters. */
  async extended(
    sql: string,
    params: (string | null)[] = [],
    statement = ''
  ): Promise<QueryResult> {
    const encoder = new TextEncoder()
    this.sendMessages(
      { type: 'Parse', statement, query: sql, parameterTypes: [] },
      {
        type: 'Bind',
        portal: '',
        statement,
        parameterFormats: [],
        parameters: params.map((param) => (param === null ? null : encoder.encode(param))),
        resultFormats: [],
      },
      { type: 'Describe', target: 'portal', name: '' },
      { type: 'Execute', portal: '', maxRows: 0 },
      { type: 'Sync' }
    )
    return summarize(await this.until('ReadyForQuery'))
  }

  /** Messages up to and including the first of `type`. */
  async until(type: BackendMessage['type']): Promise<BackendMessage[]> {
    const seen: BackendMessage[] = []
    for (;;) {
      const message = await this.next()
      if (!message)
        throw new Error(`tunnel closed before ${type}; saw ${seen.map((m) => m.type).join(',')}`)
      seen.push(message)
      if (message.type === type) return seen
    }
  }

  async next(): Promise<BackendMessage | undefined> {
    for (;;) {
      const queued = this.#queue.shift()
      if (queued) return queued
      const chunk = this.#raw.shift()
      if (chunk) {
        for (const frame of this.#framer.push(chunk)) {
          if (frame.phase === 'normal') this.#queue.push(decodeBackendMessage(frame))
        }
        continue
      }
      if (this.#closed) return undefined
      await new Promise<void>((resolve) => {
        this.#waiter = resolve
      })
    }
  }

  /** Waits for the tunnel to close (after a fatal error, say). */
  async closed(): Promise<BackendMessage[]> {
    const rest: BackendMessage[] = []
    for (let message = await this.next(); message; message = await this.next()) rest.push(message)
    return rest
  }

  close(): void {
    try {
      this.sendMessages({ type: 'Terminate' })
      this.socket.close(1000)
    } catch {}
  }

  private async rawBytes(count: number): Promise<Uint8Array> {
    for (;;) {
      const chunk = this.#raw[0]
      if (chunk && chunk.byteLength >= count) {
        this.#raw.shift()
        if (chunk.byteLength > count) this.#raw.unshift(chunk.subarray(count))
        return chunk.subarray(0, count)
      }
      if (this.#closed) throw new Error('tunnel closed during startup')
      await new Promise<void>((resolve) => {
        this.#waiter = resolve
      })
    }
  }

  #wake(): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.()
  }
}

export function summarize(messages: BackendMessage[]): QueryResult {
  const decoder = new TextDecoder()
  const result: QueryResult = {
    columns: [],
    rows: [],
    tags: [],
    errors: [],
    notices: [],
    status: '',
    messages: [],
  }
  for (const message of messages) {
    result.messages.push(message.type)
    if (message.type === 'RowDescription')
      result.columns = message.fields.map((field) => field.name)
    if (message.type === 'DataRow')
      result.rows.push(
        message.values.map((value) => (value === null ? null : decoder.decode(value)))
      )
    if (message.type === 'CommandComplete') result.tags.push(message.tag)
    if (message.type === 'ErrorResponse') {
      result.errors.push({
        code: message.fields.code ?? '',
        message: message.fields.message ?? '',
        ...(message.fields.detail ? { detail: message.fields.detail } : {}),
      })
    }
    if (message.type === 'NoticeResponse') result.notices.push(message.fields.message ?? '')
    if (message.type === 'ReadyForQuery') result.status = message.status
  }
  return result
}
