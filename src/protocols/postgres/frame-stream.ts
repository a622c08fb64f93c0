/**
 * Postgres messages read from a byte stream: a MessageFramer over a stream reader, handing
 * out whole frames, one at a time or as many as have arrived.
 */
import { type Frame, type FramerOptions, MessageFramer } from './codec/framer.ts'

export class FrameStream {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #framer: MessageFramer
  #queued: Frame[] = []
  #ended = false

  constructor(readable: ReadableStream<Uint8Array>, options?: FramerOptions) {
    this.#reader = readable.getReader()
    this.#framer = new MessageFramer(options)
  }

  /** The next frame, or undefined at the end of the stream. */
  async next(): Promise<Frame | undefined> {
    while (this.#queued.length === 0) {
      if (!(await this.#fill())) return undefined
    }
    return this.#queued.shift()
  }

  /** Every frame available now (at least one, reading more if none is), or undefined at the end. */
  async available(): Promise<Frame[] | undefined> {
    while (this.#queued.length === 0) {
      if (!(await this.#fill())) return undefined
    }
    const frames = this.#queued
    this.#queued = []
    return frames
  }

  /** Reads raw bytes before framing starts (the one-byte answer to SSLRequest). */
  async readRaw(): Promise<Uint8Array | undefined> {
    const { done, value } = await this.#reader.read()
    return done ? undefined : value
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {})
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false
    const { done, value } = await this.#reader.read()
    if (done) {
      this.#ended = true
      this.#framer.finish()
      return false
    }
    this.#queued.push(...this.#framer.push(value))
    return true
  }
}
