/**
 * Builds one message: type byte, Int32 length (patched in at the end) and fields.
 * Values the wire cannot carry (a NUL inside a string, an Int16 out of range, more
 * than 65535 items) are refused here, so an encoder never emits a message that a
 * peer would read differently from what the gateway meant.
 */
import { malformed, ProtocolError } from './protocol-error.ts'
import type { FormatCode } from './reader.ts'

const encoder = new TextEncoder()
const INT32_MAX = 0x7fff_ffff

/** Appends fields to a growing buffer. */
export class MessageWriter {
  #buffer: Uint8Array
  #view: DataView
  #length = 0
  readonly #lengthAt: number
  readonly #message: string

  /** `type` is the type byte as a character, or null for an untyped startup-phase message. */
  constructor(type: string | null, message: string, sizeHint = 64) {
    this.#buffer = new Uint8Array(Math.max(sizeHint, 8))
    this.#view = new DataView(this.#buffer.buffer)
    this.#message = message
    if (type !== null) this.uint8(type.charCodeAt(0))
    this.#lengthAt = this.#length
    this.int32(0)
  }

  uint8(value: number): this {
    this.#check(value, 0, 0xff, 'a byte')
    this.#reserve(1)
    this.#buffer[this.#length++] = value
    return this
  }

  int16(value: number): this {
    this.#check(value, -0x8000, 0x7fff, 'an Int16')
    this.#reserve(2)
    this.#view.setInt16(this.#length, value)
    this.#length += 2
    return this
  }

  /** A count written as Int16 but read unsigned by Postgres (see MessageReader.count16). */
  count16(value: number): this {
    this.#check(value, 0, 0xffff, 'a 16-bit count')
    this.#reserve(2)
    this.#view.setUint16(this.#length, value)
    this.#length += 2
    return this
  }

  int32(value: number): this {
    this.#check(value, -0x8000_0000, INT32_MAX, 'an Int32')
    this.#reserve(4)
    this.#view.setInt32(this.#length, value)
    this.#length += 4
    return this
  }

  uint32(value: number): this {
    this.#check(value, 0, 0xffff_ffff, 'an unsigned Int32 (OID)')
    this.#reserve(4)
    this.#view.setUint32(this.#length, value)
    this.#length += 4
    return this
  }

  bytes(value: Uint8Array): this {
    this.#reserve(value.length)
    this.#buffer.set(value, this.#length)
    this.#length += value.length
    return this
  }

  /** Int32 length and bytes, or -1 for NULL. */
  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1)
    return this.int32(value.length).bytes(value)
  }

  /** A NUL-terminated string; a NUL inside it would end it early on the peer's side. */
  cstring(value: string): this {
    const bytes = encoder.encode(value)
    if (bytes.includes(0)) {
      throw malformed(`Cannot encode Postgres ${this.#message}: a string contains a NUL byte.`)
    }
    return this.bytes(bytes).uint8(0)
  }

  /** A count of format codes, then the codes. */
  formatCodes(codes: readonly FormatCode[]): this {
    this.count16(codes.length)
    for (const code of codes) this.int16(code)
    return this
  }

  /** The finished message with its length filled in. */
  finish(): Uint8Array {
    const length = this.#length - this.#lengthAt
    if (length > INT32_MAX) {
      throw new ProtocolError('protocol.too_large', `Postgres ${this.#message} is over 2 GiB.`)
    }
    this.#view.setInt32(this.#lengthAt, length)
    return this.#buffer.slice(0, this.#length)
  }

  #check(value: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw malformed(`Cannot encode Postgres ${this.#message}: ${value} is not ${what}.`)
    }
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra
    if (needed <= this.#buffer.length) return
    let capacity = this.#buffer.length * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.#buffer.subarray(0, this.#length))
    this.#buffer = grown
    this.#view = new DataView(grown.buffer)
  }
}
