/**
 * Errors of the SSH layer. A protocol error ends the transport with a DISCONNECT naming
 * the reason (RFC 4253 §11.1); the peer never gets more than that reason's text.
 */

/** SSH_DISCONNECT reason codes (RFC 4250 §4.2.2) the gateway sends. */
export const DisconnectReason = {
  PROTOCOL_ERROR: 2,
  KEY_EXCHANGE_FAILED: 3,
  MAC_ERROR: 5,
  SERVICE_NOT_AVAILABLE: 7,
  HOST_KEY_NOT_VERIFIABLE: 9,
  CONNECTION_LOST: 10,
  BY_APPLICATION: 11,
  AUTH_CANCELLED_BY_USER: 13,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
} as const

export class SshProtocolError extends Error {
  override readonly name = 'SshProtocolError'
  readonly reason: number

  constructor(message: string, reason: number = DisconnectReason.PROTOCOL_ERROR) {
    super(message)
    this.reason = reason
  }
}

/** The peer ended the connection (a DISCONNECT or the socket closing). */
export class SshDisconnected extends Error {
  override readonly name = 'SshDisconnected'
  readonly reason: number

  constructor(message: string, reason: number = DisconnectReason.CONNECTION_LOST) {
    super(message)
    this.reason = reason
  }
}
