/** Builds message payloads from the data types of RFC 4251 §5. */

const encoder = new TextEncoder()

export class SshWriter {
  #bytes: Uint8Array
  #view: DataView
  #length = 0

  constructor(capacity = 256) {
    this.#bytes = new Uint8Array(capacity)
    this.#view = new DataView(this.#bytes.buffer)
  }

  #reserve(count: number): void {
    const needed = this.#length + count
    if (needed <= this.#bytes.length) return
    const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2))
    grown.set(this.#bytes.subarray(0, this.#length))
    this.#bytes = grown
    this.#view = new DataView(grown.buffer)
  }

  byte(value: number): this {
    this.#reserve(1)
    this.#bytes[this.#length++] = value
    return this
  }

  boolean(value: boolean): this {
    return this.byte(value ? 1 : 0)
  }

  uint32(value: number): this {
    this.#reserve(4)
    this.#view.setUint32(this.#length, value >>> 0)
    this.#length += 4
    return this
  }

  raw(bytes: Uint8Array): this {
    this.#reserve(bytes.length)
    this.#bytes.set(bytes, this.#length)
    this.#length += bytes.length
    return this
  }

  string(bytes: Uint8Array): this {
    return this.uint32(bytes.length).raw(bytes)
  }

  text(value: string): this {
    return this.string(encoder.encode(value))
  }

  nameList(names: readonly string[]): this {
    return this.text(names.join(','))
  }

  /** An unsigned magnitude (big-endian) as an mpint: leading zeros dropped, a 0x00 added when the top bit is set. */
  mpint(magnitude: Uint8Array): this {
    let start = 0
    while (start < magnitude.length && magnitude[start] === 0) start++
    const value = magnitude.subarray(start)
    if (value.length > 0 && ((value[0] as number) & 0x80) !== 0) {
      return this.uint32(value.length + 1)
        .byte(0)
        .raw(value)
    }
    return this.string(value)
  }

  toBytes(): Uint8Array {
    return this.#bytes.slice(0, this.#length)
  }
}

/** A payload built in one expression: `payload((w) => w.byte(5).text('ssh-userauth'))`. */
export function payload(build: (writer: SshWriter) => SshWriter): Uint8Array {
  return build(new SshWriter()).toBytes()
}
