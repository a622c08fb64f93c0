/**
 * The untyped messages a client sends before authentication (StartupMessage,
 * SSLRequest, GSSENCRequest, CancelRequest), and the one-byte answer a server gives to
 * an encryption request. They are told apart by the Int32 code after the length
 * (55.7 Message Formats); the framer yields them as StartupFrames.
 */
import type { StartupFrame } from './framer.ts'
import { isProtocol3 } from './framer.ts'
import { describeTypeByte, malformed } from './protocol-error.ts'
import { MessageReader } from './reader.ts'
import { MessageWriter } from './writer.ts'

/** Protocol 3.0, the version every current client asks for first. */
export const PROTOCOL_VERSION_3_0 = 196_608
export const CANCEL_REQUEST_CODE = 80_877_102
export const SSL_REQUEST_CODE = 80_877_103
export const GSSENC_REQUEST_CODE = 80_877_104

/** Cancel keys are 4 bytes in protocol 3.0 and 4 to 256 bytes from 3.2 (Postgres 18). */
export const MIN_CANCEL_KEY_BYTES = 4
export const MAX_CANCEL_KEY_BYTES = 256

export type StartupMessage = {
  type: 'StartupMessage'
  /** 196608 for 3.0; minor versions above 0 are for the gateway to negotiate down. */
  protocolVersion: number
  /** `user`, `database`, `options`, `application_name`, `_pq_.*` and GUCs, in a null-prototype object. */
  parameters: Record<string, string>
}
export type SSLRequest = { type: 'SSLRequest' }
export type GSSENCRequest = { type: 'GSSENCRequest' }
export type CancelRequest = { type: 'CancelRequest'; processId: number; secretKey: Uint8Array }

export type StartupPhaseMessage = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest

/** Decodes a startup-phase frame; unknown codes and protocol versions other than 3 are refused. */
export function decodeStartupFrame(frame: StartupFrame): StartupPhaseMessage {
  switch (frame.code) {
    case SSL_REQUEST_CODE:
      new MessageReader(frame.body, 'SSLRequest', 'strict').end()
      return { type: 'SSLRequest' }
    case GSSENC_REQUEST_CODE:
      new MessageReader(frame.body, 'GSSENCRequest', 'strict').end()
      return { type: 'GSSENCRequest' }
    case CANCEL_REQUEST_CODE:
      return decodeCancelRequest(new MessageReader(frame.body, 'CancelRequest', 'strict'))
  }
  if (!isProtocol3(frame.code)) {
    const major = frame.code >>> 16
    const minor = frame.code & 0xffff
    throw malformed(
      `The client asked for Postgres protocol ${major}.${minor}; the gateway speaks only protocol 3.`
    )
  }
  return decodeStartupMessage(frame.code, new MessageReader(frame.body, 'StartupMessage', 'strict'))
}

function decodeCancelRequest(reader: MessageReader): CancelRequest {
  const processId = reader.int32('process ID')
  const secretKey = reader.rest()
  if (secretKey.length < MIN_CANCEL_KEY_BYTES || secretKey.length > MAX_CANCEL_KEY_BYTES) {
    throw reader.error(`secret key is ${secretKey.length} bytes, not 4 to 256`)
  }
  return { type: 'CancelRequest', processId, secretKey }
}

function decodeStartupMessage(protocolVersion: number, reader: MessageReader): StartupMessage {
  const parameters: Record<string, string> = Object.create(null)
  for (;;) {
    const name = reader.cstring('parameter name')
    if (name === '') break
    // A repeated name would let the gateway and the origin each read a different value.
    if (name in parameters) throw reader.error(`parameter "${name}" appears twice`)
    parameters[name] = reader.cstring(`value of parameter "${name}"`)
  }
  reader.end()
  return { type: 'StartupMessage', protocolVersion, parameters }
}

/** Encodes a startup-phase message (the gateway's own StartupMessage toward an origin). */
export function encodeStartupPhaseMessage(message: StartupPhaseMessage): Uint8Array {
  const writer = new MessageWriter(null, message.type)
  switch (message.type) {
    case 'StartupMessage':
      writer.int32(message.protocolVersion)
      for (const [name, value] of Object.entries(message.parameters)) {
        if (name === '') throw malformed('Cannot encode a StartupMessage parameter with no name.')
        writer.cstring(name).cstring(value)
      }
      writer.uint8(0)
      break
    case 'SSLRequest':
      writer.int32(SSL_REQUEST_CODE)
      break
    case 'GSSENCRequest':
      writer.int32(GSSENC_REQUEST_CODE)
      break
    case 'CancelRequest':
      writer.int32(CANCEL_REQUEST_CODE).int32(message.processId).bytes(message.secretKey)
      break
  }
  return writer.finish()
}

/**
 * The server's one-byte answer to SSLRequest ('S' or 'N') or GSSENCRequest ('G' or 'N').
 * Anything after that byte arrived before encryption started, so it could have been
 * injected by a man in the middle (CVE-2021-23222): it is refused, not kept.
 */
export function decodeEncryptionResponse(
  bytes: Uint8Array,
  request: 'SSLRequest' | 'GSSENCRequest'
): 'accepted' | 'refused' {
  if (bytes.length !== 1) {
    throw malformed(
      `The origin answered ${request} with ${bytes.length} bytes instead of one; refusing bytes sent before encryption started (CVE-2021-23222).`
    )
  }
  const answer = String.fromCharCode(bytes[0] as number)
  if (answer === 'N') return 'refused'
  if (answer === (request === 'SSLRequest' ? 'S' : 'G')) return 'accepted'
  throw malformed(
    `The origin answered ${request} with an unexpected byte (${describeTypeByte(bytes[0] as number)}).`
  )
}
