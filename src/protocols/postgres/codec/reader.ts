/**
 * A bounds-checked cursor over one message body. Every read checks what is left first,
 * so a field that overruns the declared length, a string without its NUL, or a count
 * that cannot fit becomes a ProtocolError naming the message, never a read past the frame.
 */
import { malformed, type ProtocolError } from './protocol-error.ts'

/** Text (0) or binary (1): the only format codes Postgres defines (55.2.3 Formats). */
export type FormatCode = 0 | 1

/**
 * How strings are decoded. Frontend text is what policy judges, so it must be exactly
 * UTF-8 (`strict`); origin text (errors, column names of a SQL_ASCII database) may carry
 * other bytes and is only displayed and recorded (`lenient`, U+FFFD for bad sequences).
 */
export type TextMode = 'strict' | 'lenient'

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const LENIENT_UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

/** Reads the fields of one message body in order. */
export class MessageReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  readonly #message: string
  readonly #decoder: TextDecoder
  #offset = 0

  /** `message` names the message in errors (`Bind`, `RowDescription`). */
  constructor(body: Uint8Array, message: string, text: TextMode) {
    this.#bytes = body
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength)
    this.#message = message
    this.#decoder = text === 'strict' ? STRICT_UTF8 : LENIENT_UTF8
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.#offset
  }

  /** An error about this message, for checks the caller makes on decoded values. */
  error(problem: string): ProtocolError {
    return malformed(`Postgres ${this.#message} message is malformed: ${problem}.`)
  }

  // Field names are constants; an item's index is passed apart and only joined into a
  // message on failure, so decoding a DataRow allocates no strings.

  uint8(field: string): number {
    this.#need(1, field)
    return this.#bytes[this.#offset++] as number
  }

  int16(field: string, index?: number): number {
    this.#need(2, field, index)
    const value = this.#view.getInt16(this.#offset)
    this.#offset += 2
    return value
  }

  /**
   * A 16-bit count. The protocol writes Int16, but Postgres and libpq read these counts
   * unsigned (pq_getmsgint), which is how up to 65535 Bind parameters work; so does this.
   * `minItemBytes` is the smallest encoding of one item: a count whose items cannot fit
   * in what is left is refused before anything is allocated for them.
   */
  count16(field: string, minItemBytes: number): number {
    this.#need(2, field)
    const count = this.#view.getUint16(this.#offset)
    this.#offset += 2
    this.#fits(count, minItemBytes, field)
    return count
  }

  /** A 32-bit count (NegotiateProtocolVersion): negative or unfittable counts are refused. */
  count32(field: string, minItemBytes: number): number {
    const count = this.int32(field)
    if (count < 0) throw this.error(`${field} is negative (${count})`)
    this.#fits(count, minItemBytes, field)
    return count
  }

  int32(field: string, index?: number): number {
    this.#need(4, field, index)
    const value = this.#view.getInt32(this.#offset)
    this.#offset += 4
    return value
  }

  /** Object identifiers are unsigned 32-bit. */
  uint32(field: string, index?: number): number {
    this.#need(4, field, index)
    const value = this.#view.getUint32(this.#offset)
    this.#offset += 4
    return value
  }

  /** A format code: Int16 that must be 0 (text) or 1 (binary). */
  formatCode(field: string, index?: number): FormatCode {
    const code = this.int16(field, index)
    if (code === 0 || code === 1) return code
    throw this.error(`${label(field, index)} is ${code}, not 0 (text) or 1 (binary)`)
  }

  /** A count, then that many format codes (`field` names one code, e.g. "parameter format"). */
  formatCodes(field: string): FormatCode[] {
    const count = this.count16(`${field} count`, 2)
    const codes: FormatCode[] = []
    for (let i = 1; i <= count; i++) codes.push(this.formatCode(field, i))
    return codes
  }

  /** `length` raw bytes, as a view into the message (no copy). */
  bytes(length: number, field: string, index?: number): Uint8Array {
    this.#need(length, field, index)
    const slice = this.#bytes.subarray(this.#offset, this.#offset + length)
    this.#offset += length
    return slice
  }

  /** Int32 length then that many bytes; -1 means NULL, any other negative length is refused. */
  nullableBytes(field: string, index?: number): Uint8Array | null {
    this.#need(4, `length of ${field}`, index)
    const length = this.#view.getInt32(this.#offset)
    this.#offset += 4
    if (length >= 0) return this.bytes(length, field, index)
    if (length === -1) return null
    const name = label(field, index)
    throw this.error(`${name} has length ${length}; only -1 (NULL) may be negative`)
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    const slice = this.#bytes.subarray(this.#offset)
    this.#offset = this.#bytes.length
    return slice
  }

  /** A NUL-terminated string (String in 55.7 Message Formats). */
  cstring(field: string, index?: number): string {
    const end = this.#bytes.indexOf(0, this.#offset)
    if (end === -1) throw this.error(`${label(field, index)} is missing its NUL terminator`)
    const bytes = this.#bytes.subarray(this.#offset, end)
    this.#offset = end + 1
    try {
      return this.#decoder.decode(bytes)
    } catch {
      const name = label(field, index)
      throw this.error(`${name} is not valid UTF-8 (the gateway requires client_encoding UTF8)`)
    }
  }

  /** Asserts the whole body was read, as Postgres does (pq_getmsgend). */
  end(): void {
    if (this.remaining !== 0) {
      throw this.error(`${this.remaining} unexpected byte(s) after the last field`)
    }
  }

  #need(length: number, field: string, index?: number): void {
    if (this.remaining < length) {
      const name = label(field, index)
      throw this.error(`${name} needs ${length} byte(s) but only ${this.remaining} remain`)
    }
  }

  #fits(count: number, minItemBytes: number, field: string): void {
    if (count * minItemBytes > this.remaining) {
      throw this.error(
        `${field} is ${count}, more than the ${this.remaining} remaining byte(s) can hold`
      )
    }
  }
}

function label(field: string, index: number | undefined): string {
  return index === undefined ? field : `${field} ${index}`
}
