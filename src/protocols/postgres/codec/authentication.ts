/**
 * The Authentication* requests a server sends under type 'R' (55.7 Message Formats),
 * told apart by the Int32 code that starts the body. The gateway reads them from origins
 * to answer with the connection's credential, and sends Ok or CleartextPassword to
 * clients it authenticates itself.
 */
import { malformed } from './protocol-error.ts'
import { MessageReader } from './reader.ts'
import { MessageWriter } from './writer.ts'

export type AuthenticationOk = { type: 'AuthenticationOk' }
export type AuthenticationKerberosV5 = { type: 'AuthenticationKerberosV5' }
export type AuthenticationCleartextPassword = { type: 'AuthenticationCleartextPassword' }
export type AuthenticationMD5Password = { type: 'AuthenticationMD5Password'; salt: Uint8Array }
export type AuthenticationGSS = { type: 'AuthenticationGSS' }
export type AuthenticationGSSContinue = { type: 'AuthenticationGSSContinue'; data: Uint8Array }
export type AuthenticationSSPI = { type: 'AuthenticationSSPI' }
/** The mechanisms the server offers, in its order of preference. */
export type AuthenticationSASL = { type: 'AuthenticationSASL'; mechanisms: string[] }
/** Carries the SCRAM server-first-message. */
export type AuthenticationSASLContinue = { type: 'AuthenticationSASLContinue'; data: Uint8Array }
/** Carries the SCRAM server-final-message (`v=` signature). */
export type AuthenticationSASLFinal = { type: 'AuthenticationSASLFinal'; data: Uint8Array }

export type AuthenticationRequest =
  | AuthenticationOk
  | AuthenticationKerberosV5
  | AuthenticationCleartextPassword
  | AuthenticationMD5Password
  | AuthenticationGSS
  | AuthenticationGSSContinue
  | AuthenticationSSPI
  | AuthenticationSASL
  | AuthenticationSASLContinue
  | AuthenticationSASLFinal

/** Request codes, the Int32 after 'R'. */
const AUTH_CODES: Record<AuthenticationRequest['type'], number> = {
  AuthenticationOk: 0,
  AuthenticationKerberosV5: 2,
  AuthenticationCleartextPassword: 3,
  AuthenticationMD5Password: 5,
  AuthenticationGSS: 7,
  AuthenticationGSSContinue: 8,
  AuthenticationSSPI: 9,
  AuthenticationSASL: 10,
  AuthenticationSASLContinue: 11,
  AuthenticationSASLFinal: 12,
}
const AUTH_TYPES = new Map(
  Object.entries(AUTH_CODES).map(([type, code]) => [code, type as AuthenticationRequest['type']])
)

/** Whether a message type is one of the 'R' requests. */
export function isAuthenticationRequest(message: {
  type: string
}): message is AuthenticationRequest {
  return Object.hasOwn(AUTH_CODES, message.type)
}

/** Decodes the body of an 'R' message; codes Postgres does not define are refused. */
export function decodeAuthenticationRequest(body: Uint8Array): AuthenticationRequest {
  const code = new MessageReader(body, 'Authentication', 'lenient').int32('request code')
  const type = AUTH_TYPES.get(code)
  if (!type) throw malformed(`Postgres Authentication request ${code} is not one Postgres defines.`)
  const reader = new MessageReader(body.subarray(4), type, 'lenient')
  const request = decodeRequest(type, reader)
  reader.end()
  return request
}

function decodeRequest(
  type: AuthenticationRequest['type'],
  reader: MessageReader
): AuthenticationRequest {
  switch (type) {
    case 'AuthenticationMD5Password':
      return { type, salt: reader.bytes(4, 'salt') }
    case 'AuthenticationSASL': {
      const mechanisms: string[] = []
      for (;;) {
        const name = reader.cstring('mechanism')
        if (name === '') return { type, mechanisms }
        mechanisms.push(name)
      }
    }
    case 'AuthenticationGSSContinue':
    case 'AuthenticationSASLContinue':
    case 'AuthenticationSASLFinal':
      return { type, data: reader.rest() }
    case 'AuthenticationOk':
    case 'AuthenticationKerberosV5':
    case 'AuthenticationCleartextPassword':
    case 'AuthenticationGSS':
    case 'AuthenticationSSPI':
      return { type }
  }
}

/** Encodes an 'R' message, type byte and length included. */
export function encodeAuthenticationRequest(request: AuthenticationRequest): Uint8Array {
  const sizeHint = 'data' in request ? request.data.length + 9 : 64
  const writer = new MessageWriter('R', request.type, sizeHint).int32(AUTH_CODES[request.type])
  switch (request.type) {
    case 'AuthenticationMD5Password':
      if (request.salt.length !== 4) {
        throw malformed('Cannot encode an MD5 salt that is not 4 bytes.')
      }
      writer.bytes(request.salt)
      break
    case 'AuthenticationSASL':
      for (const mechanism of request.mechanisms) {
        if (mechanism === '') throw malformed('Cannot encode an empty SASL mechanism name.')
        writer.cstring(mechanism)
      }
      writer.uint8(0)
      break
    case 'AuthenticationGSSContinue':
    case 'AuthenticationSASLContinue':
    case 'AuthenticationSASLFinal':
      writer.bytes(request.data)
      break
  }
  return writer.finish()
}
