/**
 * Exact-length reads from a byte stream: the packet reader asks for 4 bytes, then for the
 * rest of the packet, without copying more than once. Nothing is read ahead beyond what
 * the stream already delivered, so buffering is bounded by what the caller asks for.
 */
import { SshDisconnected, SshProtocolError } from '../wire/ssh-error.ts'

export class ByteSource {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  #chunks: Uint8Array[] = []
  #buffered = 0
  /** Bytes of the stream consumed so far (for the session's byte counts). */
  consumed = 0

  constructor(readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.getReader()
  }

  async #fill(count: number): Promise<boolean> {
    while (this.#buffered < count) {
      const { value, done } = await this.#reader.read()
      if (done) return false
      if (value.byteLength === 0) continue
      this.#chunks.push(value)
      this.#buffered += value.byteLength
    }
    return true
  }

  /** Exactly `count` bytes; `null` when the stream ended cleanly before the first of them. */
  async read(count: number): Promise<Uint8Array | null> {
    if (!(await this.#fill(count))) {
      if (this.#buffered === 0) return null
      throw new SshDisconnected(`the peer closed the connection mid-packet`)
    }
    this.consumed += count
    const first = this.#chunks[0] as Uint8Array
    if (first.byteLength >= count) {
      const out = first.subarray(0, count)
      if (first.byteLength === count) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(count)
      this.#buffered -= count
      return out
    }
    const out = new Uint8Array(count)
    let offset = 0
    while (offset < count) {
      const chunk = this.#chunks[0] as Uint8Array
      const take = Math.min(chunk.byteLength, count - offset)
      out.set(chunk.subarray(0, take), offset)
      offset += take
      if (take === chunk.byteLength) this.#chunks.shift()
      else this.#chunks[0] = chunk.subarray(take)
    }
    this.#buffered -= count
    return out
  }

  /** One CR LF (or LF) terminated line of at most `max` bytes, without the terminator. */
  async readLine(max: number): Promise<string> {
    const bytes: number[] = []
    for (;;) {
      const next = await this.read(1)
      if (!next) throw new SshDisconnected('the peer closed the connection before its version line')
      const byte = next[0] as number
      if (byte === 0x0a) break
      bytes.push(byte)
      if (bytes.length > max)
        throw new SshProtocolError(`a version line is longer than ${max} bytes`)
    }
    if (bytes.at(-1) === 0x0d) bytes.pop()
    return new TextDecoder().decode(new Uint8Array(bytes))
  }

  cancel(reason?: unknown): void {
    this.#reader.cancel(reason).catch(() => {})
  }
}
