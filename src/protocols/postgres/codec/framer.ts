/**
 * Splits a Postgres byte stream into whole messages, whatever the chunking. The gateway
 * must see every message yet bound its memory against peers it does not trust: a length
 * over the cap is refused as soon as its header arrives (before any body is buffered),
 * and at most one partial message is ever held. Frames keep their raw bytes so a
 * message the gateway does not change is forwarded without re-encoding.
 */
import { describeTypeByte, malformed, ProtocolError } from './protocol-error.ts'

/**
 * Default cap on one message's declared length (which counts itself, not the type byte).
 * Postgres accepts up to 1 GB for Query, Parse, Bind, CopyData and FunctionCall, but a
 * Worker isolate has 128 MB shared by every connection it serves, and a frame is copied
 * once more when it completes. 16 MiB covers any statement an agent writes, pgbench and
 * psql traffic, and rows with large JSON or bytea values; bigger values should be read in
 * pieces (substring, lo_get). Raise it per connection with `maxMessageBytes`.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024

/**
 * Cap on a startup-phase packet; Postgres itself refuses longer ones
 * (MAX_STARTUP_PACKET_LENGTH in src/include/libpq/pqcomm.h).
 */
export const MAX_STARTUP_MESSAGE_BYTES = 10_000

/** Untyped messages before authentication (Startup, SSL, GSSENC, Cancel) or typed ones after. */
export type FramerPhase = 'startup' | 'normal'

/** A startup-phase message: Int32 length, Int32 code, body. */
export type StartupFrame = {
  phase: 'startup'
  /** Protocol version (196608 for 3.0) or request code (80877103 for SSLRequest, ...). */
  code: number
  /** The whole message as received: forward this to pass it on unchanged. */
  bytes: Uint8Array
  /** What follows the code; a view into `bytes`. */
  body: Uint8Array
}

/** A normal-phase message: Byte1 type, Int32 length, body. */
export type MessageFrame = {
  phase: 'normal'
  /** The type byte as a one-character string ('Q', 'D', ...); unknown types pass through. */
  type: string
  /** The whole message as received: forward this to pass it on unchanged. */
  bytes: Uint8Array
  /** What follows the length; a view into `bytes`. */
  body: Uint8Array
}

export type Frame = StartupFrame | MessageFrame

export type FramerOptions = {
  /** `startup` for a client connection (the default), `normal` for an origin's replies. */
  phase?: FramerPhase
  /** Cap on a normal-phase message's declared length; defaults to MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number
}

/** Protocol 3.x StartupMessages carry major version 3 in their code's high 16 bits. */
export function isProtocol3(code: number): boolean {
  return code >>> 16 === 3
}

/** The first byte of a TLS handshake record, sent by clients using sslnegotiation=direct. */
const TLS_HANDSHAKE = 0x16

/**
 * An incremental splitter. Feed it chunks with `push`; it returns the messages those
 * chunks completed. Frames may be views into the pushed chunks: do not reuse a chunk's
 * buffer after pushing it. After a ProtocolError the stream cannot be resynchronised,
 * and every later call throws the same error.
 */
export class MessageFramer {
  #phase: FramerPhase
  readonly #maxMessageBytes: number
  /** Bytes of the one partial message, header included. */
  #parts: Uint8Array[] = []
  #partBytes = 0
  /** Total size of the partial message once its header is known, else 0. */
  #partTotal = 0
  #failure: ProtocolError | null = null

  constructor(options: FramerOptions = {}) {
    this.#phase = options.phase ?? 'startup'
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES
    if (!Number.isInteger(this.#maxMessageBytes) || this.#maxMessageBytes < 4) {
      throw new RangeError('maxMessageBytes must be an integer of at least 4')
    }
  }

  /** Switches to `normal` by itself after a protocol 3 StartupMessage. */
  get phase(): FramerPhase {
    return this.#phase
  }

  /** Bytes held for the partial message (never more than the cap plus its type byte). */
  get bufferedBytes(): number {
    return this.#partBytes
  }

  /** Adds bytes from the stream; returns the messages they complete, in order. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failure) throw this.#failure
    try {
      return this.#push(chunk)
    } catch (error) {
      if (error instanceof ProtocolError) this.#failure = error
      throw error
    }
  }

  /** Call at end of stream: refuses a message cut off by the peer closing. */
  finish(): void {
    if (this.#failure) throw this.#failure
    if (this.#partBytes > 0) {
      const expected = this.#partTotal ? ` of ${this.#partTotal}` : ''
      throw malformed(
        `The Postgres connection closed in the middle of a message (${this.#partBytes}${expected} bytes received).`
      )
    }
  }

  #push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = []
    let offset = 0
    while (offset < chunk.length) {
      if (this.#partBytes > 0) {
        offset = this.#continuePartial(chunk, offset, frames)
        continue
      }
      const available = chunk.length - offset
      const total = available >= this.#headerBytes ? this.#frameSize(chunk, offset) : 0
      if (total > 0 && available >= total) {
        frames.push(this.#frame(chunk.subarray(offset, offset + total)))
        offset += total
        continue
      }
      // Copy a header fragment (it is tiny); keep a view of a longer body fragment.
      const rest = chunk.subarray(offset)
      this.#parts = [total > 0 ? rest : rest.slice()]
      this.#partBytes = available
      this.#partTotal = total
      offset = chunk.length
    }
    return frames
  }

  /** Feeds the partial message; returns the new offset into `chunk`. */
  #continuePartial(chunk: Uint8Array, offset: number, frames: Frame[]): number {
    if (this.#partTotal === 0) {
      const take = Math.min(this.#headerBytes - this.#partBytes, chunk.length - offset)
      this.#append(chunk.slice(offset, offset + take))
      offset += take
      if (this.#partBytes < this.#headerBytes) return offset
      this.#partTotal = this.#frameSize(this.#joined(), 0)
    } else {
      const take = Math.min(this.#partTotal - this.#partBytes, chunk.length - offset)
      this.#append(chunk.subarray(offset, offset + take))
      offset += take
    }
    if (this.#partBytes === this.#partTotal) {
      const bytes = this.#joined()
      this.#parts = []
      this.#partBytes = 0
      this.#partTotal = 0
      frames.push(this.#frame(bytes))
    }
    return offset
  }

  /** Header bytes needed to know a frame's size: the length word, plus the type byte. */
  get #headerBytes(): number {
    return this.#phase === 'startup' ? 4 : 5
  }

  /** Validates the header at `offset` and returns the whole frame's size in bytes. */
  #frameSize(bytes: Uint8Array, offset: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, this.#headerBytes)
    if (this.#phase === 'startup') {
      if (bytes[offset] === TLS_HANDSHAKE) {
        throw malformed(
          'The client began a TLS handshake directly (sslnegotiation=direct); the gateway accepts only the Postgres SSLRequest, so connect with sslnegotiation=postgres.'
        )
      }
      const length = view.getInt32(0)
      if (length < 8) {
        throw malformed(
          `Postgres startup packet declares length ${length}, below the minimum of 8; the client is not speaking the Postgres protocol.`
        )
      }
      if (length > MAX_STARTUP_MESSAGE_BYTES) {
        throw new ProtocolError(
          'protocol.too_large',
          `Postgres startup packet declares ${length} bytes, over the ${MAX_STARTUP_MESSAGE_BYTES} that Postgres allows; the client is not speaking the Postgres protocol, or sends too many startup parameters.`
        )
      }
      return length
    }
    const type = describeTypeByte(view.getUint8(0))
    const length = view.getInt32(1)
    if (length < 4) {
      throw malformed(
        `Postgres message of type ${type} declares length ${length}, below the minimum of 4 (the length counts itself); the stream is corrupt or not Postgres.`
      )
    }
    if (length > this.#maxMessageBytes) {
      throw new ProtocolError(
        'protocol.too_large',
        `Postgres message of type ${type} declares ${length} bytes, over the gateway's limit of ${this.#maxMessageBytes} bytes per message; read large values in pieces, or raise the connection's message size limit.`
      )
    }
    return length + 1
  }

  #frame(bytes: Uint8Array): Frame {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (this.#phase === 'startup') {
      const code = view.getInt32(4)
      // The next message after a protocol 3 StartupMessage is typed (55.2.1 Start-up).
      if (isProtocol3(code)) this.#phase = 'normal'
      return { phase: 'startup', code, bytes, body: bytes.subarray(8) }
    }
    const type = String.fromCharCode(view.getUint8(0))
    return { phase: 'normal', type, bytes, body: bytes.subarray(5) }
  }

  #append(part: Uint8Array): void {
    this.#parts.push(part)
    this.#partBytes += part.length
  }

  #joined(): Uint8Array {
    if (this.#parts.length === 1 && this.#parts[0]) return this.#parts[0]
    const joined = new Uint8Array(this.#partBytes)
    let at = 0
    for (const part of this.#parts) {
      joined.set(part, at)
      at += part.length
    }
    this.#parts = [joined]
    return joined
  }
}
