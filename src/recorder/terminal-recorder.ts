/**
 * Records a terminal as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/) in
 * R2 while it runs: output events are buffered and written as numbered parts every few
 * seconds or kilobytes, so a crash loses at most one part, and each part's SHA-256 goes
 * into the hash-chained transcript, which makes the recording as tamper-evident as the
 * commands. Output is masked with the transcript's detectors before it is stored.
 */
import { toHex, utf8 } from '../encoding.ts'
import type { TextMasker } from '../masking/types.ts'
import { terminalPartKey } from './transcript-keys.ts'

/** A part is written once this much output is buffered … */
const PART_BYTES = 64 * 1024
/** … or this long after its first event. */
const PART_MS = 5_000

export type TerminalHeader = {
  width: number
  height: number
  /** Unix seconds of the start. */
  timestamp: number
  term?: string
  title?: string
}

export type TerminalStore = {
  bucket: R2Bucket
  now: () => number
  /** Adds the part's key and digest to the transcript. */
  recordPart: (part: { key: string; sha256: string; bytes: number; events: number }) => void
  /** A part could not be written: the terminal must end (recording fails closed). */
  onFailure: (error: unknown) => void
}

export class TerminalRecorder {
  readonly #store: TerminalStore
  readonly #prefix: string
  readonly #masker: TextMasker
  readonly #startedAt: number
  readonly #decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  #lines: string[] = []
  #buffered = 0
  #part = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #writing: Promise<void> = Promise.resolve()
  #closed = false
  bytes = 0

  constructor(store: TerminalStore, prefix: string, masker: TextMasker, header: TerminalHeader) {
    this.#store = store
    this.#prefix = prefix
    this.#masker = masker
    this.#startedAt = store.now()
    const env = header.term ? { TERM: header.term } : undefined
    this.#push(
      JSON.stringify({
        version: 2,
        width: header.width,
        height: header.height,
        timestamp: header.timestamp,
        ...(env ? { env } : {}),
        ...(header.title ? { title: header.title } : {}),
      })
    )
  }

  output(bytes: Uint8Array): void {
    this.bytes += bytes.length
    const text = this.#decoder.decode(bytes, { stream: true })
    if (text) this.#event('o', this.#masker.active ? this.#masker.mask(text) : text)
  }

  resize(width: number, height: number): void {
    this.#event('r', `${width}x${height}`)
  }

  #event(code: 'o' | 'r', data: string): void {
    if (this.#closed) return
    const seconds = Math.round(this.#store.now() - this.#startedAt) / 1000
    this.#push(JSON.stringify([seconds, code, data]))
  }

  #push(line: string): void {
    this.#lines.push(line)
    this.#buffered += line.length
    if (this.#buffered >= PART_BYTES) this.#flush()
    else this.#timer ??= setTimeout(() => this.#flush(), PART_MS)
  }

  #flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#lines.length === 0) return this.#writing
    const lines = this.#lines
    const part = this.#part++
    this.#lines = []
    this.#buffered = 0
    this.#writing = this.#writing.then(async () => {
      const body = utf8(`${lines.join('\n')}\n`)
      const key = terminalPartKey(this.#prefix, part)
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body))
      try {
        // R2 checks the digest on write and keeps it, so the console can compare it with
        // the transcript's without reading the part back.
        await this.#store.bucket.put(key, body, {
          sha256: digest,
          httpMetadata: { contentType: 'application/x-asciicast' },
        })
      } catch (error) {
        this.#closed = true
        this.#store.onFailure(error)
        return
      }
      const events = part === 0 ? lines.length - 1 : lines.length
      this.#store.recordPart({ key, sha256: toHex(digest), bytes: body.length, events })
    })
    return this.#writing
  }

  /** Writes what is buffered; later output is ignored. */
  async close(): Promise<void> {
    const tail = this.#decoder.decode()
    if (tail) this.#event('o', this.#masker.active ? this.#masker.mask(tail) : tail)
    await this.#flush()
    this.#closed = true
  }
}
