/**
 * The core of the streaming JSON masker: a validating RFC 8259 tokenizer that lets input
 * bytes through untouched and holds back only the one string or number it must read
 * whole. Nothing here knows about streams: `write` takes a chunk and returns what may be
 * sent for it, so tests can cut input anywhere.
 */
import type { MaskFunction, MaskReason, MaskTally, TextMasker } from '../types.ts'
import { tallyOf } from '../types.ts'
import { ChunkOutput, decodeAscii, decodeStringToken, HeldBytes } from './json-bytes.ts'
import {
  BOM,
  FALSE,
  isHexDigit,
  isSimpleEscape,
  JsonStreamError,
  MAX_JSON_DEPTH,
  MAX_JSON_STRING_BYTES,
  N_END,
  N_ERROR,
  N_START,
  NULL,
  nextNumberState,
  TRUE,
} from './json-grammar.ts'
import { compileJsonPaths, type JsonPath } from './json-path.ts'
import { ARRAY, JsonSelection, OBJECT, OTHER_NAME } from './json-selection.ts'

/** A JSON path and how the values it selects are masked (`reason` is `path:<text>`). */
export type JsonPathMask = { path: JsonPath; reason: MaskReason; mask: MaskFunction }

export type JsonRewriterOptions = {
  paths: readonly JsonPathMask[]
  text: TextMasker
  tally: MaskTally
  /** Cap on one string or number that must be read whole; larger ones fail the stream. */
  maxStringBytes?: number
  /** Accept several whitespace-separated top-level values (NDJSON, JSON Lines). */
  sequence?: boolean
}

// Where the tokenizer stands between bytes.
const VALUE = 0 // a value must start (after ':', after ',' in an array, at the top level)
const VALUE_OR_CLOSE = 1 // just after '['
const KEY_OR_CLOSE = 2 // just after '{'
const KEY = 3 // after ',' in an object
const COLON = 4
const AFTER_VALUE = 5
const STRING = 6
const NUMBER = 7
const LITERAL = 8

/**
 * Rewrites one JSON body (or sequence) chunk by chunk. Values selected by a path, or
 * inside a selected container, are masked with that path's rule; every other string,
 * number and member name goes through the detectors. Member names are masked too (maps
 * keyed by e-mail address are common), though paths match them as sent; masked names
 * may collide, which JSON allows. Booleans and null are never masked.
 */
export class JsonRewriter {
  readonly #paths: readonly JsonPathMask[]
  readonly #text: TextMasker
  readonly #tally: MaskTally
  readonly #maxTokenBytes: number
  readonly #sequence: boolean
  readonly #where: JsonSelection
  readonly #out = new ChunkOutput()
  readonly #held = new HeldBytes()

  #state = VALUE
  /** Bytes consumed before the current chunk. */
  #offset = 0
  /** Top level: whitespace seen since the last value (sequences need it between values). */
  #separated = true

  // The current string or number.
  #tokenStart = 0 // index in the current chunk, or -1 when it began in an earlier one
  #tokenInspect = false // whether it is read whole (else its bytes just pass)
  #tokenIsKey = false
  #tokenSelection = -1 // the path rule masking it, or -1 for the detectors
  #ascii = true
  #escaped = false
  #escape = 0 // 1 after '\', 5..2 while reading the four hex digits of \uXXXX
  #numberState = N_START
  #literal: Uint8Array = TRUE
  #literalAt = 0
  #afterLiteral = AFTER_VALUE
  #spanStart = 0
  #spanEnd = 0

  constructor(options: JsonRewriterOptions) {
    const { paths } = options
    this.#paths = paths
    this.#where = new JsonSelection(
      paths.length ? compileJsonPaths(paths.map((p) => p.path)) : null
    )
    this.#text = options.text
    this.#tally = options.tally
    this.#maxTokenBytes = options.maxStringBytes ?? MAX_JSON_STRING_BYTES
    this.#sequence = options.sequence ?? false
  }

  /** Consumes a chunk; returns the bytes that may be sent now (possibly `chunk` itself). */
  write(chunk: Uint8Array): Uint8Array | null {
    this.#out.begin(chunk)
    const end = chunk.length
    let i = 0
    while (i < end) {
      const state = this.#state
      if (state === STRING) i = this.#scanString(chunk, i)
      else if (state === NUMBER) i = this.#scanNumber(chunk, i)
      else if (state === LITERAL) i = this.#scanLiteral(chunk, i)
      else i = this.#structural(chunk, i)
    }
    this.#offset += end
    if ((this.#state !== STRING && this.#state !== NUMBER) || !this.#tokenInspect) {
      return this.#out.finish(end)
    }
    // Hold the unfinished token; everything before it may go.
    const start = Math.max(this.#tokenStart, 0)
    if (this.#tokenStart >= 0) this.#held.reset()
    this.#held.append(chunk, start, end)
    this.#tokenStart = -1
    if (this.#held.length > this.#maxTokenBytes) throw this.#tooLarge(0)
    return this.#out.finish(start)
  }

  /** Ends the body; throws if it stopped inside a value. Returns a held final number, if any. */
  end(): Uint8Array | null {
    const empty = new Uint8Array(0)
    this.#out.begin(empty)
    if (this.#state === NUMBER && nextNumberState(this.#numberState, 0x20) === N_END) {
      this.#endNumber(empty, 0)
    }
    const atTop = this.#state === AFTER_VALUE || this.#state === VALUE
    if (this.#where.depth > 0 || !atTop) throw this.#fail(0, 'the body ends inside a value')
    return this.#out.finish(0)
  }

  #fail(chunkIndex: number, reason: string): JsonStreamError {
    return new JsonStreamError(this.#offset + chunkIndex, reason)
  }

  #tooLarge(chunkIndex: number): JsonStreamError {
    return this.#fail(chunkIndex, `a string or number exceeds ${this.#maxTokenBytes} bytes`)
  }

  /** Whitespace, then one structural byte or the first byte of a value. */
  #structural(chunk: Uint8Array, from: number): number {
    let i = from
    let b = chunk[i] as number
    while (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
      if (++i === chunk.length) break
      b = chunk[i] as number
    }
    const topLevel = this.#where.depth === 0
    if (i > from && topLevel) this.#separated = true
    if (i === chunk.length) return i
    switch (this.#state) {
      case VALUE:
        if (b === 0xef && this.#offset + i === 0) return this.#startLiteral(BOM, VALUE, i)
        return this.#startValue(i, b)
      case VALUE_OR_CLOSE:
        return b === 0x5d ? this.#close(ARRAY, i) : this.#startValue(i, b)
      case KEY_OR_CLOSE:
        if (b === 0x7d) return this.#close(OBJECT, i)
        if (b === 0x22) return this.#startString(i, true)
        throw this.#fail(i, 'expected a member name or "}"')
      case KEY:
        if (b === 0x22) return this.#startString(i, true)
        throw this.#fail(i, 'expected a member name')
      case COLON:
        if (b !== 0x3a) throw this.#fail(i, 'expected ":" after a member name')
        this.#state = VALUE
        return i + 1
      default: // AFTER_VALUE
        if (topLevel) {
          if (this.#sequence && this.#separated) return this.#startValue(i, b)
          const expected = this.#sequence ? 'whitespace between values' : 'the end of the body'
          throw this.#fail(i, `expected ${expected}`)
        }
        if (b === 0x2c) {
          this.#state = this.#where.inObject() ? KEY : VALUE
          return i + 1
        }
        if (b === 0x5d) return this.#close(ARRAY, i)
        if (b === 0x7d) return this.#close(OBJECT, i)
        throw this.#fail(i, 'expected ",", "]" or "}"')
    }
  }

  #startValue(i: number, b: number): number {
    if (this.#where.depth === 0) this.#separated = false
    const selection = this.#where.enterValue()
    switch (b) {
      case 0x7b: // {
      case 0x5b: // [
        if (!this.#where.open(b === 0x7b ? OBJECT : ARRAY, selection)) {
          throw this.#fail(i, `nesting deeper than ${MAX_JSON_DEPTH}`)
        }
        this.#state = b === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE
        return i + 1
      case 0x22:
        this.#tokenSelection = selection
        return this.#startString(i, false)
      case 0x74:
        return this.#startLiteral(TRUE, AFTER_VALUE, i)
      case 0x66:
        return this.#startLiteral(FALSE, AFTER_VALUE, i)
      case 0x6e:
        return this.#startLiteral(NULL, AFTER_VALUE, i)
      default:
        if (b !== 0x2d && (b < 0x30 || b > 0x39)) throw this.#fail(i, 'expected a value')
        this.#tokenSelection = selection
        this.#tokenStart = i
        this.#tokenInspect = selection >= 0 || this.#text.active
        this.#numberState = N_START
        this.#state = NUMBER
        return i
    }
  }

  #close(kind: number, i: number): number {
    if (!this.#where.close(kind)) throw this.#fail(i, 'mismatched bracket')
    this.#state = AFTER_VALUE
    return i + 1
  }

  #startLiteral(literal: Uint8Array, next: number, i: number): number {
    this.#literal = literal
    this.#literalAt = 0
    this.#afterLiteral = next
    this.#state = LITERAL
    return i
  }

  #scanLiteral(chunk: Uint8Array, from: number): number {
    const literal = this.#literal
    let at = this.#literalAt
    let i = from
    while (i < chunk.length && at < literal.length) {
      if (chunk[i] !== literal[at]) throw this.#fail(i, 'expected a value')
      i++
      at++
    }
    this.#literalAt = at
    if (at === literal.length) this.#state = this.#afterLiteral
    return i
  }

  #startString(i: number, isKey: boolean): number {
    this.#tokenIsKey = isKey
    this.#tokenStart = i
    if (isKey) {
      this.#tokenInspect = this.#text.active || this.#where.keyMatters()
      if (!this.#tokenInspect) this.#where.readKey(null)
    } else {
      this.#tokenInspect = this.#tokenSelection >= 0 || this.#text.active
    }
    this.#ascii = true
    this.#escaped = false
    this.#escape = 0
    this.#state = STRING
    return i + 1
  }

  #scanString(chunk: Uint8Array, from: number): number {
    const end = chunk.length
    let pending = this.#escape
    let ascii = this.#ascii
    let i = from
    for (; i < end; i++) {
      const b = chunk[i] as number
      if (pending === 0) {
        if (b === 0x22) break
        if (b === 0x5c) {
          pending = 1
          this.#escaped = true
        } else if (b < 0x20) throw this.#fail(i, 'control character in a string')
        else if (b >= 0x80) ascii = false
      } else if (pending === 1) {
        if (b === 0x75) pending = 5
        else if (isSimpleEscape(b)) pending = 0
        else throw this.#fail(i, 'invalid escape in a string')
      } else {
        if (!isHexDigit(b)) throw this.#fail(i, 'invalid \\u escape in a string')
        pending = pending === 2 ? 0 : pending - 1
      }
    }
    this.#escape = pending
    this.#ascii = ascii
    if (i === end) return end
    this.#state = this.#tokenIsKey ? COLON : AFTER_VALUE
    if (this.#tokenInspect) this.#endString(chunk, i + 1)
    return i + 1
  }

  #endString(chunk: Uint8Array, end: number): void {
    const bytes = this.#locateToken(chunk, end)
    const start = this.#spanStart
    if (this.#tokenIsKey && !this.#text.active && !this.#escaped) {
      // Only paths care about this name: one of a length no path names needs no decoding.
      if (!this.#where.mayBeNamed(this.#spanEnd - start - 2)) {
        this.#where.readKey(OTHER_NAME)
        this.#settle(end, '', '')
        return
      }
    }
    const value = decodeStringToken(bytes, start, this.#spanEnd, this.#ascii, this.#escaped)
    if (this.#tokenIsKey) {
      this.#where.readKey(value)
      this.#settle(end, this.#text.active ? this.#text.mask(value, this.#tally) : value, value)
    } else {
      this.#settle(end, this.#maskValue(value), value)
    }
  }

  #maskValue(value: string): string {
    const selection = this.#tokenSelection
    if (selection < 0) return this.#text.mask(value, this.#tally)
    const path = this.#paths[selection] as JsonPathMask
    tallyOf(this.#tally, path.reason)
    return path.mask(value)
  }

  #scanNumber(chunk: Uint8Array, from: number): number {
    let state = this.#numberState
    let i = from
    for (; i < chunk.length; i++) {
      const next = nextNumberState(state, chunk[i] as number)
      if (next === N_ERROR) throw this.#fail(i, 'malformed number')
      if (next === N_END) break
      state = next
    }
    this.#numberState = state
    if (i < chunk.length) this.#endNumber(chunk, i)
    return i
  }

  /** The number ends before `end`. Detectors and masks get it as written (`1.50e3`). */
  #endNumber(chunk: Uint8Array, end: number): void {
    this.#state = AFTER_VALUE
    if (!this.#tokenInspect) return
    const bytes = this.#locateToken(chunk, end)
    const literal = decodeAscii(bytes, this.#spanStart, this.#spanEnd)
    this.#settle(end, this.#maskValue(literal), literal)
  }

  /**
   * Where the current token's bytes are, as it ends before `end` in `chunk`: returns the
   * array and sets `#spanStart`/`#spanEnd` (no subarray: this runs for every token read).
   */
  #locateToken(chunk: Uint8Array, end: number): Uint8Array {
    let bytes = chunk
    if (this.#tokenStart >= 0) {
      this.#spanStart = this.#tokenStart
      this.#spanEnd = end
    } else {
      this.#held.append(chunk, 0, end)
      bytes = this.#held.bytes
      this.#spanStart = 0
      this.#spanEnd = this.#held.length
    }
    if (this.#spanEnd - this.#spanStart > this.#maxTokenBytes) throw this.#tooLarge(end)
    return bytes
  }

  /** Sends the token as it came, or `masked` as a JSON string in its place. */
  #settle(end: number, masked: string, original: string): void {
    const held = this.#tokenStart < 0
    if (masked !== original) this.#out.replace(held ? 0 : this.#tokenStart, end, masked)
    else if (held) this.#out.insertBytes(this.#held.bytes, 0, this.#held.length, end)
    if (held) this.#held.reset()
  }
}
