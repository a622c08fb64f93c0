/**
 * The one error the Postgres codec throws. Decoders see bytes from clients and origins
 * the gateway does not trust, so every way a message can be wrong ends here, with a
 * stable code and a message a person can act on; never a RangeError from a DataView.
 */

/**
 * `protocol.malformed`: the bytes break the protocol's grammar.
 * `protocol.too_large`: a message declares more bytes than the gateway will buffer.
 * `protocol.auth_failed`: the origin's side of an authentication exchange does not verify.
 */
export type ProtocolErrorCode = 'protocol.malformed' | 'protocol.too_large' | 'protocol.auth_failed'

/** A violation of the Postgres wire protocol (or of an authentication exchange over it). */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  readonly code: ProtocolErrorCode
  /** The SQLSTATE a Postgres server reports for the same failure (Appendix A: Error Codes). */
  readonly sqlState: string

  constructor(code: ProtocolErrorCode, message: string) {
    super(message)
    this.code = code
    // 28000 invalid_authorization_specification; 08P01 protocol_violation (Postgres uses it
    // for over-long messages too: "invalid message length").
    this.sqlState = code === 'protocol.auth_failed' ? '28000' : '08P01'
  }
}

/** Shorthand for the common case. */
export function malformed(message: string): ProtocolError {
  return new ProtocolError('protocol.malformed', message)
}

/** How a message type byte reads in an error message: `'Q'`, or `0x00` when unprintable. */
export function describeTypeByte(byte: number): string {
  return byte >= 0x21 && byte <= 0x7e
    ? `'${String.fromCharCode(byte)}'`
    : `0x${byte.toString(16).padStart(2, '0')}`
}
