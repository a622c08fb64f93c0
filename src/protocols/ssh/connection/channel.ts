/**
 * One SSH channel (RFC 4254 §5) with flow control both ways. Incoming data is exposed as
 * streams whose reading opens the window again, so a slow consumer slows the peer and
 * nothing buffers past the window we advertised. Writes wait for the peer's window and are
 * cut to its packet size.
 */
import { Msg } from '../wire/message-numbers.ts'
import { SshDisconnected, SshProtocolError } from '../wire/ssh-error.ts'
import type { SshReader } from '../wire/ssh-reader.ts'
import { payload, type SshWriter } from '../wire/ssh-writer.ts'

/** What we let a peer send before it must wait for us to read: 2 MiB. */
export const LOCAL_WINDOW = 2 * 1024 * 1024
/** Largest data packet we accept. */
export const LOCAL_MAX_PACKET = 64 * 1024
/** Channel requests queued unanswered at most. */
const MAX_PENDING_REQUESTS = 64

export type ExitInfo = { status?: number; signal?: string; message?: string }

/** Answers a channel request from the peer; `true` is CHANNEL_SUCCESS. */
export type RequestHandler = (
  type: string,
  body: SshReader,
  wantReply: boolean
) => Promise<boolean> | boolean

export type ChannelSender = (message: Uint8Array) => Promise<void>

export class Channel {
  readonly localId: number
  remoteId = 0
  #remoteWindow = 0
  #remoteMaxPacket = 0
  #send: ChannelSender
  #windowWaiters: (() => void)[] = []
  #writes: Promise<void> = Promise.resolve()
  #localWindow = LOCAL_WINDOW
  /** Read (or dropped) since the last WINDOW_ADJUST. */
  #consumed = 0
  /** Enqueued on each stream since its last pull. */
  #unread = { data: 0, extended: 0 }
  #dataController!: ReadableStreamDefaultController<Uint8Array>
  #extendedController!: ReadableStreamDefaultController<Uint8Array>
  #requestHandler: RequestHandler = () => false
  #replies: Promise<void> = Promise.resolve()
  #pendingRequests = 0
  #ownRequests: ((ok: boolean) => void)[] = []
  #eofSent = false
  #closeSent = false
  #closeReceived = false
  #resolveClosed!: () => void
  #resolveExit!: (exit: ExitInfo) => void
  #exit: ExitInfo = {}
  /** CHANNEL_DATA from the peer. */
  readonly data: ReadableStream<Uint8Array>
  /** CHANNEL_EXTENDED_DATA (stderr) from the peer. */
  readonly extended: ReadableStream<Uint8Array>
  /** Resolves when both sides have closed the channel. */
  readonly closed: Promise<void>
  /** The exit status or signal the peer reported, once the channel closes. */
  readonly exit: Promise<ExitInfo>
  #onFreed: () => void

  constructor(localId: number, send: ChannelSender, onFreed: () => void) {
    this.localId = localId
    this.#send = send
    this.#onFreed = onFreed
    // Sized in bytes with no high-water mark: a pull means the queue was drained, so
    // everything enqueued since the last pull has been read and its window can reopen.
    const bytes = { highWaterMark: 0, size: (chunk: Uint8Array) => chunk.byteLength }
    this.data = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#dataController = controller
        },
        pull: () => this.#released('data'),
      },
      bytes
    )
    this.extended = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#extendedController = controller
        },
        pull: () => this.#released('extended'),
      },
      bytes
    )
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    this.exit = new Promise((resolve) => {
      this.#resolveExit = resolve
    })
  }

  /** Called when the peer confirmed (or opened) the channel. */
  bind(remoteId: number, window: number, maxPacket: number): void {
    this.remoteId = remoteId
    this.#remoteWindow = window
    this.#remoteMaxPacket = Math.max(1, Math.min(maxPacket, LOCAL_MAX_PACKET))
  }

  /** Who answers the peer's channel requests (pty-req, exec, …); exit-status is kept here. */
  onRequest(handler: RequestHandler): void {
    this.#requestHandler = handler
  }

  get isOpen(): boolean {
    return !this.#closeSent && !this.#closeReceived
  }

  // Writing

  /** Sends data, waiting for window; resolves when all of it is handed to the transport. */
  write(bytes: Uint8Array): Promise<void> {
    return this.#queueWrite(bytes, null)
  }

  writeExtended(bytes: Uint8Array, type = 1): Promise<void> {
    return this.#queueWrite(bytes, type)
  }

  #queueWrite(bytes: Uint8Array, extended: number | null): Promise<void> {
    const write = this.#writes.then(async () => {
      let offset = 0
      while (offset < bytes.length) {
        if (this.#closeSent || this.#closeReceived)
          throw new SshDisconnected('the channel is closed')
        if (this.#remoteWindow === 0) {
          await new Promise<void>((resolve) => this.#windowWaiters.push(resolve))
          continue
        }
        const size = Math.min(this.#remoteWindow, this.#remoteMaxPacket, bytes.length - offset)
        const chunk = bytes.subarray(offset, offset + size)
        offset += size
        this.#remoteWindow -= size
        await this.#send(
          extended === null
            ? payload((w) => w.byte(Msg.CHANNEL_DATA).uint32(this.remoteId).string(chunk))
            : payload((w) =>
                w
                  .byte(Msg.CHANNEL_EXTENDED_DATA)
                  .uint32(this.remoteId)
                  .uint32(extended)
                  .string(chunk)
              )
        )
      }
    })
    this.#writes = write.catch(() => {})
    return write
  }

  /** Sends a channel request; with `wantReply`, resolves to whether the peer agreed. */
  async request(
    type: string,
    wantReply: boolean,
    body?: (w: SshWriter) => SshWriter
  ): Promise<boolean> {
    const reply = wantReply
      ? new Promise<boolean>((resolve) => this.#ownRequests.push(resolve))
      : Promise.resolve(true)
    await this.#writes
    await this.#send(
      payload((w) => {
        const head = w.byte(Msg.CHANNEL_REQUEST).uint32(this.remoteId).text(type).boolean(wantReply)
        return body ? body(head) : head
      })
    )
    return reply
  }

  /** Resolves once every request received so far has been answered. */
  repliesSent(): Promise<void> {
    return this.#replies
  }

  /** No more data from us (after what is queued). */
  async eof(): Promise<void> {
    await this.#writes
    if (this.#eofSent || this.#closeSent) return
    this.#eofSent = true
    await this.#send(payload((w) => w.byte(Msg.CHANNEL_EOF).uint32(this.remoteId))).catch(() => {})
  }

  /** Closes our side; the channel is freed once the peer's CLOSE arrives too. */
  async close(): Promise<void> {
    if (this.#closeSent) return
    this.#closeSent = true
    this.#wakeWriters()
    await this.#send(payload((w) => w.byte(Msg.CHANNEL_CLOSE).uint32(this.remoteId))).catch(
      () => {}
    )
    this.#maybeFreed()
  }

  // Incoming, from the connection's dispatcher (never blocks it)

  receiveData(bytes: Uint8Array, extended: number | null): void {
    if (bytes.length > this.#localWindow) {
      throw new SshProtocolError(`channel ${this.localId}: the peer sent past its window`)
    }
    this.#localWindow -= bytes.length
    // Only stderr (1) is a known extended type; others are dropped, as after our CLOSE.
    const stream = extended === null ? 'data' : extended === 1 ? 'extended' : null
    if (this.#closeSent || stream === null) {
      this.#consume(bytes.length)
      return
    }
    const controller = stream === 'data' ? this.#dataController : this.#extendedController
    try {
      controller.enqueue(bytes.slice())
      this.#unread[stream] += bytes.length
    } catch {
      // The reader went away: drop the data but keep the window open.
      this.#consume(bytes.length)
    }
  }

  #released(stream: 'data' | 'extended'): void {
    const read = this.#unread[stream]
    this.#unread[stream] = 0
    this.#consume(read)
  }

  /** Counts bytes taken off our window and, past half of it, opens it again. */
  #consume(count: number): void {
    this.#consumed += count
    if (this.#consumed < LOCAL_WINDOW / 2 || !this.isOpen) return
    const adjust = this.#consumed
    this.#consumed = 0
    this.#localWindow += adjust
    void this.#send(
      payload((w) => w.byte(Msg.CHANNEL_WINDOW_ADJUST).uint32(this.remoteId).uint32(adjust))
    ).catch(() => {})
  }

  receiveWindowAdjust(bytes: number): void {
    this.#remoteWindow = Math.min(this.#remoteWindow + bytes, 0xffffffff)
    this.#wakeWriters()
  }

  #wakeWriters(): void {
    const waiters = this.#windowWaiters
    this.#windowWaiters = []
    for (const wake of waiters) wake()
  }

  receiveEof(): void {
    closeStream(this.#dataController)
    closeStream(this.#extendedController)
  }

  receiveClose(): void {
    this.#closeReceived = true
    this.receiveEof()
    this.#wakeWriters()
    for (const resolve of this.#ownRequests.splice(0)) resolve(false)
    void this.close()
    this.#maybeFreed()
  }

  receiveReply(ok: boolean): void {
    const resolve = this.#ownRequests.shift()
    if (!resolve) throw new SshProtocolError(`channel ${this.localId}: a reply to no request`)
    resolve(ok)
  }

  receiveRequest(type: string, wantReply: boolean, body: SshReader): void {
    if (type === 'exit-status') {
      this.#exit.status = body.uint32()
      return
    }
    if (type === 'exit-signal') {
      this.#exit.signal = body.text()
      body.boolean()
      this.#exit.message = body.text()
      return
    }
    if (++this.#pendingRequests > MAX_PENDING_REQUESTS) {
      throw new SshProtocolError(`channel ${this.localId}: too many unanswered requests`)
    }
    // Replies go out in request order (RFC 4254 §5.4), whatever order handlers finish in.
    const answer = Promise.resolve()
      .then(() => this.#requestHandler(type, body, wantReply))
      .catch(() => false)
    this.#replies = this.#replies.then(async () => {
      const ok = await answer
      this.#pendingRequests--
      if (!wantReply || this.#closeSent) return
      await this.#send(
        payload((w) => w.byte(ok ? Msg.CHANNEL_SUCCESS : Msg.CHANNEL_FAILURE).uint32(this.remoteId))
      ).catch(() => {})
    })
  }

  /** The connection ended under the channel. */
  abort(reason: Error): void {
    this.#closeReceived = true
    this.#closeSent = true
    errorStream(this.#dataController, reason)
    errorStream(this.#extendedController, reason)
    this.#wakeWriters()
    for (const resolve of this.#ownRequests.splice(0)) resolve(false)
    this.#maybeFreed()
  }

  #maybeFreed(): void {
    if (!this.#closeSent || !this.#closeReceived) return
    this.#resolveExit(this.#exit)
    this.#resolveClosed()
    this.#onFreed()
  }
}

function closeStream(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close()
  } catch {}
}

function errorStream(controller: ReadableStreamDefaultController<Uint8Array>, reason: Error): void {
  try {
    controller.error(reason)
  } catch {}
}
