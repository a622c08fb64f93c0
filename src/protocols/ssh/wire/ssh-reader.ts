/**
 * Reads the data types of RFC 4251 §5 from a message payload. Every read is bounds-checked:
 * a lying length is a protocol error, never a read past the end.
 */
import { SshProtocolError } from './ssh-error.ts'

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class SshReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  #offset: number

  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#offset = offset
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset
  }

  #need(count: number, what: string): void {
    if (count > this.remaining) {
      throw new SshProtocolError(
        `message ends inside ${what} (needs ${count}, has ${this.remaining})`
      )
    }
  }

  byte(): number {
    this.#need(1, 'a byte')
    return this.#bytes[this.#offset++] as number
  }

  boolean(): boolean {
    return this.byte() !== 0
  }

  uint32(): number {
    this.#need(4, 'a uint32')
    const value = this.#view.getUint32(this.#offset)
    this.#offset += 4
    return value
  }

  /** `count` raw bytes (a view, not a copy). */
  raw(count: number): Uint8Array {
    this.#need(count, 'raw bytes')
    const value = this.#bytes.subarray(this.#offset, this.#offset + count)
    this.#offset += count
    return value
  }

  /** A length-prefixed byte string (a view). */
  string(): Uint8Array {
    return this.raw(this.uint32())
  }

  /** A length-prefixed UTF-8 string; invalid UTF-8 is a protocol error. */
  text(): string {
    try {
      return decoder.decode(this.string())
    } catch {
      throw new SshProtocolError('a string is not valid UTF-8')
    }
  }

  /** A comma-separated name-list (US-ASCII names). */
  nameList(): string[] {
    const text = this.text()
    return text === '' ? [] : text.split(',')
  }

  /** An mpint's magnitude, big-endian, without sign or leading zeros; negatives are refused. */
  mpint(): Uint8Array {
    const value = this.string()
    if (value.length > 0 && ((value[0] as number) & 0x80) !== 0) {
      throw new SshProtocolError('a negative mpint where a positive one is required')
    }
    let start = 0
    while (start < value.length && value[start] === 0) start++
    return value.subarray(start)
  }

  /** The rest of the message (a view). */
  rest(): Uint8Array {
    return this.raw(this.remaining)
  }

  /** Refuses trailing bytes where a message must end. */
  end(what: string): void {
    if (this.remaining !== 0)
      throw new SshProtocolError(`${this.remaining} stray bytes after ${what}`)
  }
}
