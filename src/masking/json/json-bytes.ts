/**
 * Byte handling for the streaming JSON rewriter, kept apart from its grammar: the one
 * token held across chunks, the output of a chunk (the chunk itself unless something was
 * replaced), and decoding and encoding of string tokens without a TextEncoder or
 * subarray per token (both cost more than the scan on short values).
 */

/** Capacity kept between tokens; a buffer grown past it for one large token is dropped. */
const RETAINED_BYTES = 64 * 1024

/** A growable byte buffer for a token split across chunks. */
export class HeldBytes {
  bytes = new Uint8Array(1024)
  length = 0

  append(source: Uint8Array, start: number, end: number): void {
    const needed = this.length + (end - start)
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
    }
    this.bytes.set(source.subarray(start, end), this.length)
    this.length = needed
  }

  reset(): void {
    this.length = 0
    if (this.bytes.length > RETAINED_BYTES) this.bytes = new Uint8Array(1024)
  }
}

const encoder = new TextEncoder()

/**
 * The bytes sent for one input chunk. Unchanged spans are only copied once a replacement
 * forces a new buffer; a chunk without replacements goes out as the chunk itself.
 */
export class ChunkOutput {
  #chunk: Uint8Array = new Uint8Array(0)
  /** Chunk bytes from here on are still to be sent. */
  #from = 0
  #out: Uint8Array | null = null
  #length = 0

  begin(chunk: Uint8Array): void {
    this.#chunk = chunk
    this.#from = 0
    this.#out = null
    this.#length = 0
  }

  /** Copies the pending chunk bytes up to `to` into the output. */
  take(to: number): void {
    if (to > this.#from) this.#write(this.#chunk, this.#from, to)
    this.#from = to
  }

  /** Sends `bytes[start, end)` (a held token), then skips the chunk up to `skipTo`. */
  insertBytes(bytes: Uint8Array, start: number, end: number, skipTo: number): void {
    this.#write(bytes, start, end)
    this.#from = skipTo
  }

  /** Replaces the chunk bytes from the pending point's `tokenStart` to `tokenEnd`. */
  replace(tokenStart: number, tokenEnd: number, value: string): void {
    this.take(tokenStart)
    const json = JSON.stringify(value)
    this.#reserve(json.length * 3)
    const out = this.#out as Uint8Array
    let at = this.#length
    for (let i = 0; i < json.length; i++) {
      const code = json.charCodeAt(i)
      if (code >= 0x80) {
        at += encoder.encodeInto(json.slice(i), out.subarray(at)).written
        break
      }
      out[at++] = code
    }
    this.#length = at
    this.#from = tokenEnd
  }

  /** What to send for the chunk, ending before `to`; null when nothing. */
  finish(to: number): Uint8Array | null {
    if (this.#out === null) {
      if (to <= this.#from) return null
      return this.#from === 0 && to === this.#chunk.length
        ? this.#chunk
        : this.#chunk.subarray(this.#from, to)
    }
    this.take(to)
    return this.#out.subarray(0, this.#length)
  }

  #write(bytes: Uint8Array, start: number, end: number): void {
    this.#reserve(end - start)
    ;(this.#out as Uint8Array).set(bytes.subarray(start, end), this.#length)
    this.#length += end - start
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra
    if (this.#out === null) {
      this.#out = new Uint8Array(Math.max(needed, this.#chunk.length + 256))
    } else if (needed > this.#out.length) {
      const grown = new Uint8Array(Math.max(needed, this.#out.length * 2))
      grown.set(this.#out.subarray(0, this.#length))
      this.#out = grown
    }
  }
}

const decoder = new TextDecoder()

/** Below this many bytes ASCII is decoded in JavaScript: cheaper than a native call. */
const SHORT_ASCII_BYTES = 16

/**
 * The value of a complete, validated JSON string token at `bytes[start, end)`, quotes
 * included. Escapes are left to JSON.parse: it pairs surrogates and keeps lone ones, as
 * a caller's parser would. Invalid UTF-8 decodes to U+FFFD, as it will for the caller.
 */
export function decodeStringToken(
  bytes: Uint8Array,
  start: number,
  end: number,
  ascii: boolean,
  escaped: boolean
): string {
  if (ascii && !escaped) return decodeAscii(bytes, start + 1, end - 1)
  const raw = ascii ? decodeAscii(bytes, start, end) : decoder.decode(bytes.subarray(start, end))
  return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1)
}

/** Bytes known to be ASCII (a number, a string without high bytes) as text. */
export function decodeAscii(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > SHORT_ASCII_BYTES) return decoder.decode(bytes.subarray(start, end))
  let text = ''
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i] as number)
  return text
}
