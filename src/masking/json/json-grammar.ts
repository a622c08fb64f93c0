/**
 * The pieces of RFC 8259 the streaming rewriter checks byte by byte, and the error it
 * raises when a body breaks them. Invalid JSON is never passed on: a caller's parser and
 * the masker must agree on where every value starts and ends.
 */
import { GatehouseError } from '../../errors.ts'

/** A string of this size is held in full (and decoded) only if it must be inspected. */
export const MAX_JSON_STRING_BYTES = 8 * 1024 * 1024
/** Deeper nesting is refused: no API answers like that, and the stack costs memory. */
export const MAX_JSON_DEPTH = 1024

/**
 * A body that is not JSON (or exceeds the caps), found while masking it. The stream stops
 * there; `offset` (bytes from the start of the body) and the reason are kept in `detail`.
 */
export class JsonStreamError extends GatehouseError {
  readonly offset: number

  constructor(offset: number, reason: string) {
    super('masking.invalid_body', 'The origin sent a JSON body that could not be masked.', {
      detail: `JSON body at byte ${offset}: ${reason}`,
    })
    this.offset = offset
  }
}

export const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65])
export const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65])
export const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c])
/** RFC 8259 §8.1 lets parsers ignore a leading UTF-8 byte order mark; it is passed on. */
export const BOM = new Uint8Array([0xef, 0xbb, 0xbf])

/** RFC 8259 §7: the letters after a backslash other than `u`: " \ / b f n r t */
const SIMPLE_ESCAPES = [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]

export function isSimpleEscape(byte: number): boolean {
  return SIMPLE_ESCAPES.includes(byte)
}

export function isHexDigit(byte: number): boolean {
  const lower = byte | 0x20
  return (byte >= 0x30 && byte <= 0x39) || (lower >= 0x61 && lower <= 0x66)
}

// RFC 8259 §6 number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
export const N_START = 0
const N_MINUS = 1
const N_ZERO = 2
const N_INT = 3
const N_DOT = 4
const N_FRAC = 5
const N_E = 6
const N_SIGN = 7
const N_EXP = 8
/** The byte after a complete number was reached (only from a state where it may end). */
export const N_END = -1
export const N_ERROR = -2

/** The number state after `byte`; N_END when `byte` is not part of a complete number. */
export function nextNumberState(state: number, byte: number): number {
  const digit = byte >= 0x30 && byte <= 0x39
  const exponent = (byte | 0x20) === 0x65
  switch (state) {
    case N_START:
      return byte === 0x2d ? N_MINUS : byte === 0x30 ? N_ZERO : digit ? N_INT : N_ERROR
    case N_MINUS:
      return byte === 0x30 ? N_ZERO : digit ? N_INT : N_ERROR
    case N_ZERO:
      return byte === 0x2e ? N_DOT : exponent ? N_E : digit ? N_ERROR : N_END
    case N_INT:
      return digit ? N_INT : byte === 0x2e ? N_DOT : exponent ? N_E : N_END
    case N_DOT:
      return digit ? N_FRAC : N_ERROR
    case N_FRAC:
      return digit ? N_FRAC : exponent ? N_E : N_END
    case N_E:
      return byte === 0x2b || byte === 0x2d ? N_SIGN : digit ? N_EXP : N_ERROR
    case N_SIGN:
      return digit ? N_EXP : N_ERROR
    default: // N_EXP
      return digit ? N_EXP : N_END
  }
}
