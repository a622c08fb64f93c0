/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as Postgres speaks it
 * (55.3.3 SASL Authentication): how the gateway proves its origin credential without
 * sending the password, and checks that the origin knows the verifier too. No channel
 * binding (gs2 header `n,,`): cloudflare:sockets does not expose the origin's
 * certificate, which tls-server-end-point needs. Postgres ignores the SCRAM user name
 * (the role comes from the StartupMessage), so it is empty unless given, as in libpq.
 * Three steps, no I/O: first message, final message with proof, and verification of
 * the server's signature. The caller must not accept AuthenticationOk from an origin
 * before step 3 has passed.
 */
import { fromBase64, toBase64, utf8 } from '../../../encoding.ts'
import { ProtocolError } from '../codec/protocol-error.ts'
import { saslPrepPassword } from './sasl-prep.ts'

/** The mechanism name in AuthenticationSASL and SASLInitialResponse. */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256'

/**
 * Highest iteration count accepted from an origin. workerd refuses PBKDF2 above 100000
 * iterations (its CPU guard); Postgres's default is 4096. An origin, or someone in
 * between, asking for more is refused before any work is done.
 */
export const MAX_SCRAM_ITERATIONS = 100_000

/** Iteration bounds an origin's server-first-message must respect. */
export type ScramOptions = {
  /** Default 1, the lowest Postgres's scram_iterations allows. */
  minIterations?: number
  /** Default MAX_SCRAM_ITERATIONS; cannot be raised above it. */
  maxIterations?: number
}

/** Step 1: what the client sent, kept for the proof. */
export type ScramClientFirst = {
  /** SASLInitialResponse data: gs2 header and client-first-message-bare. */
  message: Uint8Array
  clientNonce: string
  clientFirstBare: string
}

/** Step 2: the client-final-message and the server signature it implies. */
export type ScramClientFinal = {
  /** SASLResponse data. */
  message: Uint8Array
  /** What the server must send back in `v=` (AuthenticationSASLFinal). */
  expectedServerSignature: Uint8Array
}

const GS2_HEADER = 'n,,'
/** printable = %x21-2B / %x2D-7E (RFC 5802 §7): no comma. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const NONCE_BYTES = 18
const ASCII = new TextDecoder()

/**
 * Starts an exchange. `nonce` is for tests (and must be printable ASCII without commas);
 * by default 18 random bytes in base64, as libpq sends. `username` is only escaped, not
 * SASLprepped: Postgres ignores it, and it exists for the RFC 7677 test vector.
 */
export function scramClientFirst(
  options: { nonce?: string; username?: string } = {}
): ScramClientFirst {
  const clientNonce = options.nonce ?? toBase64(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)))
  if (!NONCE.test(clientNonce)) throw new RangeError('A SCRAM nonce is printable ASCII without ","')
  // saslname (RFC 5802 §5.1): "," and "=" are escaped.
  const username = (options.username ?? '').replace(/=/g, '=3D').replace(/,/g, '=2C')
  const clientFirstBare = `n=${username},r=${clientNonce}`
  return { message: utf8(GS2_HEADER + clientFirstBare), clientNonce, clientFirstBare }
}

/**
 * Step 2: reads the server-first-message (AuthenticationSASLContinue data) and returns
 * the client-final-message with the proof for `password`.
 */
export async function scramClientFinal(
  first: ScramClientFirst,
  serverFirstMessage: Uint8Array,
  password: string,
  options: ScramOptions = {}
): Promise<ScramClientFinal> {
  const serverFirst = asciiMessage(serverFirstMessage, 'server-first-message')
  const { nonce, salt, iterations } = parseServerFirst(serverFirst, first.clientNonce, options)
  if (password === '') {
    throw authFailed('The origin credential has an empty password, which Postgres never accepts.')
  }
  const saltedPassword = await pbkdf2(utf8(saslPrepPassword(password)), salt, iterations)
  const clientKey = await hmac(saltedPassword, 'Client Key')
  const storedKey = new Uint8Array(await crypto.subtle.digest('SHA-256', clientKey))
  // c= is base64 of the gs2 header: "biws".
  const withoutProof = `c=${toBase64(utf8(GS2_HEADER))},r=${nonce}`
  const authMessage = `${first.clientFirstBare},${serverFirst},${withoutProof}`
  const clientSignature = await hmac(storedKey, authMessage)
  const proof = clientKey.map((byte, i) => byte ^ (clientSignature[i] as number))
  const serverKey = await hmac(saltedPassword, 'Server Key')
  return {
    message: utf8(`${withoutProof},p=${toBase64(proof)}`),
    expectedServerSignature: await hmac(serverKey, authMessage),
  }
}

/**
 * Step 3: checks the server-final-message (AuthenticationSASLFinal data). A wrong
 * signature means the origin does not hold this password's verifier: it is not the
 * server it claims to be, so the connection must not go on.
 */
export function verifyScramServerFinal(
  final: ScramClientFinal,
  serverFinalMessage: Uint8Array
): void {
  const serverFinal = asciiMessage(serverFinalMessage, 'server-final-message')
  const attribute = serverFinal.split(',')[0] ?? ''
  if (attribute.startsWith('e=')) {
    throw authFailed(`The origin ended SCRAM authentication with "${attribute.slice(2)}".`)
  }
  const signature = attribute.startsWith('v=') ? attribute.slice(2) : ''
  if (!BASE64.test(signature) || signature === '') {
    throw malformedScram('server-final-message has no v= signature')
  }
  if (!equalBytes(fromBase64(signature), final.expectedServerSignature)) {
    throw authFailed(
      "The origin's SCRAM server signature does not match: it does not know this credential's verifier, so it may not be the intended server."
    )
  }
}

function parseServerFirst(message: string, clientNonce: string, options: ScramOptions) {
  const minIterations = options.minIterations ?? 1
  const maxIterations = Math.min(
    options.maxIterations ?? MAX_SCRAM_ITERATIONS,
    MAX_SCRAM_ITERATIONS
  )
  const [r, s, i] = message.split(',')
  if (r?.startsWith('m=')) {
    throw authFailed(
      'The origin requires a SCRAM extension (m=) that the gateway does not support.'
    )
  }
  if (!r?.startsWith('r=') || !s?.startsWith('s=') || !i?.startsWith('i=')) {
    throw malformedScram('server-first-message is not "r=...,s=...,i=..."')
  }
  const nonce = r.slice(2)
  if (!NONCE.test(nonce)) throw malformedScram('the nonce has characters SCRAM does not allow')
  // The server appends its own part to ours; anything else could be a replay.
  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
    throw authFailed("The origin's SCRAM nonce does not extend the gateway's nonce.")
  }
  const saltText = s.slice(2)
  if (saltText === '' || !BASE64.test(saltText)) throw malformedScram('the salt is not base64')
  const iterationText = i.slice(2)
  if (!/^[1-9][0-9]{0,9}$/.test(iterationText)) {
    throw malformedScram('the iteration count is not a positive integer')
  }
  const iterations = Number(iterationText)
  if (iterations < minIterations || iterations > maxIterations) {
    throw authFailed(
      `The origin asked for ${iterations} SCRAM iterations; the gateway accepts ${minIterations} to ${maxIterations}.`
    )
  }
  return { nonce, salt: fromBase64(saltText), iterations }
}

async function pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number) {
  const key = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    256
  )
  return new Uint8Array(bits)
}

async function hmac(key: Uint8Array, text: string): Promise<Uint8Array> {
  const hmacKey = await crypto.subtle.importKey(
    'raw',
    key,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  return new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, utf8(text)))
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number)
  return difference === 0
}

/** SCRAM messages are printable ASCII; anything else is refused before parsing. */
function asciiMessage(bytes: Uint8Array, what: string): string {
  for (const byte of bytes) {
    if (byte < 0x20 || byte > 0x7e) throw malformedScram(`${what} is not printable ASCII`)
  }
  return ASCII.decode(bytes)
}

function malformedScram(problem: string): ProtocolError {
  return new ProtocolError(
    'protocol.malformed',
    `The origin's SCRAM message is malformed: ${problem}.`
  )
}

function authFailed(message: string): ProtocolError {
  return new ProtocolError('protocol.auth_failed', message)
}
