/**
 * The connection protocol (RFC 4254) over an authenticated transport: one dispatcher
 * reads every message and hands it to its channel without waiting on it, so one slow
 * channel cannot stall the others (flow control bounds what each may buffer). Global
 * requests (port forwarding, keepalives, host-key rotation notices) are refused: the
 * gateway carries sessions only, never new network paths.
 */

import type { SshTransport } from '../transport/ssh-transport.ts'
import { Msg } from '../wire/message-numbers.ts'
import { SshDisconnected, SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'
import { payload, type SshWriter } from '../wire/ssh-writer.ts'
import { Channel, LOCAL_MAX_PACKET, LOCAL_WINDOW } from './channel.ts'

/** Channels open at once on one connection. */
const MAX_CHANNELS = 16

/** RFC 4254 §5.1 reason codes. */
export const OpenFailure = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const

/** The peer answered CHANNEL_OPEN with a failure. */
export class ChannelRefused extends Error {
  override readonly name = 'ChannelRefused'
  constructor(type: string, reason: string) {
    super(`the peer refused a ${type} channel: ${reason}`)
  }
}

export type ChannelOpenRequest = { type: string; body: SshReader }

/** Accepts a channel the peer opens (resolve a Channel from `accept`) or refuses it. */
export type ChannelOpener = (
  request: ChannelOpenRequest,
  accept: () => Channel
) => Promise<{ refuse: number; message: string } | undefined>

export class SshConnection {
  readonly transport: SshTransport
  readonly #channels = new Map<number, Channel>()
  readonly #opening = new Map<number, { resolve: (ok: boolean) => void; reason?: string }>()
  #nextId = 0
  #opener: ChannelOpener | undefined
  /** Resolves when the dispatcher stops: the peer closed, or the connection failed. */
  readonly done: Promise<void>
  #ended: Error | undefined

  constructor(transport: SshTransport, opener?: ChannelOpener) {
    this.transport = transport
    this.#opener = opener
    this.done = this.#dispatch()
  }

  get channelCount(): number {
    return this.#channels.size
  }

  /** Opens a `session` channel on the peer (the gateway as a client of the origin). */
  openSession(): Promise<Channel> {
    return this.openChannel('session')
  }

  /** Opens a channel of `type`, with its type-specific fields written by `extra`. */
  async openChannel(type: string, extra?: (w: SshWriter) => SshWriter): Promise<Channel> {
    const channel = this.#newChannel()
    const confirmed = new Promise<boolean>((resolve) =>
      this.#opening.set(channel.localId, { resolve })
    )
    await this.transport.send(
      payload((w) => {
        const head = w
          .byte(Msg.CHANNEL_OPEN)
          .text(type)
          .uint32(channel.localId)
          .uint32(LOCAL_WINDOW)
          .uint32(LOCAL_MAX_PACKET)
        return extra ? extra(head) : head
      })
    )
    if (!(await confirmed)) {
      const reason = this.#opening.get(channel.localId)?.reason ?? this.#ended?.message ?? 'refused'
      this.#opening.delete(channel.localId)
      this.#channels.delete(channel.localId)
      throw new ChannelRefused(type, reason)
    }
    this.#opening.delete(channel.localId)
    return channel
  }

  /** Ends the connection politely. */
  async close(description = 'closed by the gateway'): Promise<void> {
    await this.transport.disconnect(11, description)
  }

  #newChannel(): Channel {
    if (this.#channels.size >= MAX_CHANNELS) {
      throw new SshProtocolError(`more than ${MAX_CHANNELS} channels on one connection`)
    }
    while (this.#channels.has(this.#nextId)) this.#nextId = (this.#nextId + 1) >>> 0
    const id = this.#nextId
    this.#nextId = (this.#nextId + 1) >>> 0
    const channel = new Channel(
      id,
      (message) => this.transport.send(message),
      () => this.#channels.delete(id)
    )
    this.#channels.set(id, channel)
    return channel
  }

  async #dispatch(): Promise<void> {
    try {
      for (;;) {
        const message = await this.transport.receive()
        if (!message) break
        this.#handle(message)
      }
      this.#end(new SshDisconnected('the peer closed the connection'))
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      this.#end(failure)
      await this.transport.fail(error)
    } finally {
      this.transport.close()
    }
  }

  #end(reason: Error): void {
    this.#ended = reason
    for (const channel of this.#channels.values()) channel.abort(reason)
    for (const opening of this.#opening.values()) opening.resolve(false)
  }

  #handle(message: Uint8Array): void {
    const type = message[0] as number
    const reader = new SshReader(message, 1)
    switch (type) {
      case Msg.GLOBAL_REQUEST: {
        reader.text()
        if (reader.boolean()) void this.transport.send(payload((w) => w.byte(Msg.REQUEST_FAILURE)))
        return
      }
      case Msg.REQUEST_SUCCESS:
      case Msg.REQUEST_FAILURE:
        return
      case Msg.CHANNEL_OPEN:
        this.#peerOpens(reader)
        return
      case Msg.CHANNEL_OPEN_CONFIRMATION: {
        const channel = this.#channel(reader.uint32())
        const opening = this.#opening.get(channel.localId)
        if (!opening) throw new SshProtocolError('a confirmation for a channel not being opened')
        channel.bind(reader.uint32(), reader.uint32(), reader.uint32())
        opening.resolve(true)
        return
      }
      case Msg.CHANNEL_OPEN_FAILURE: {
        const id = reader.uint32()
        const opening = this.#opening.get(id)
        if (!opening) throw new SshProtocolError('a failure for a channel not being opened')
        reader.uint32()
        opening.reason = reader.text()
        opening.resolve(false)
        return
      }
      case Msg.CHANNEL_WINDOW_ADJUST:
        this.#channel(reader.uint32()).receiveWindowAdjust(reader.uint32())
        return
      case Msg.CHANNEL_DATA: {
        const channel = this.#channel(reader.uint32())
        channel.receiveData(reader.string(), null)
        return
      }
      case Msg.CHANNEL_EXTENDED_DATA: {
        const channel = this.#channel(reader.uint32())
        const code = reader.uint32()
        channel.receiveData(reader.string(), code)
        return
      }
      case Msg.CHANNEL_EOF:
        this.#channel(reader.uint32()).receiveEof()
        return
      case Msg.CHANNEL_CLOSE:
        this.#channel(reader.uint32()).receiveClose()
        return
      case Msg.CHANNEL_REQUEST: {
        const channel = this.#channel(reader.uint32())
        const name = reader.text()
        const wantReply = reader.boolean()
        channel.receiveRequest(name, wantReply, reader)
        return
      }
      case Msg.CHANNEL_SUCCESS:
      case Msg.CHANNEL_FAILURE:
        this.#channel(reader.uint32()).receiveReply(type === Msg.CHANNEL_SUCCESS)
        return
      default: {
        const sequence = this.transport.lastSequence
        void this.transport.send(payload((w) => w.byte(Msg.UNIMPLEMENTED).uint32(sequence)))
      }
    }
  }

  #channel(id: number): Channel {
    const channel = this.#channels.get(id)
    if (!channel) throw new SshProtocolError(`a message for unknown channel ${id}`)
    return channel
  }

  #peerOpens(reader: SshReader): void {
    const type = reader.text()
    const sender = reader.uint32()
    const window = reader.uint32()
    const maxPacket = reader.uint32()
    const refuse = (code: number, message: string) =>
      this.transport.send(
        payload((w) =>
          w.byte(Msg.CHANNEL_OPEN_FAILURE).uint32(sender).uint32(code).text(message).text('')
        )
      )
    if (!this.#opener || this.#channels.size >= MAX_CHANNELS) {
      void refuse(OpenFailure.ADMINISTRATIVELY_PROHIBITED, 'channels cannot be opened here').catch(
        () => {}
      )
      return
    }
    let channel: Channel | undefined
    const accept = () => {
      channel = this.#newChannel()
      channel.bind(sender, window, maxPacket)
      return channel
    }
    void this.#opener({ type, body: reader }, accept)
      .then(async (refusal) => {
        if (refusal || !channel) {
          if (channel) this.#channels.delete(channel.localId)
          await refuse(
            refusal?.refuse ?? OpenFailure.ADMINISTRATIVELY_PROHIBITED,
            refusal?.message ?? 'refused'
          )
          return
        }
        await this.transport.send(
          payload((w) =>
            w
              .byte(Msg.CHANNEL_OPEN_CONFIRMATION)
              .uint32(sender)
              .uint32(channel?.localId ?? 0)
              .uint32(LOCAL_WINDOW)
              .uint32(LOCAL_MAX_PACKET)
          )
        )
      })
      .catch(() => {})
  }
}
