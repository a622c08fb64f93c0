/**
 * The gateway as a Postgres client of the origin: TCP through cloudflare:sockets, TLS
 * when the connection asks for it (SSLRequest, then startTls), a StartupMessage naming
 * the connection's own user and database, and authentication with the stored password
 * (SCRAM-SHA-256, md5 or cleartext). The origin's server signature is verified before its
 * AuthenticationOk is believed. What the origin says after login (parameters, backend key,
 * notices) is kept for relaying to the client.
 */
import { connect } from 'cloudflare:sockets'
import type { PostgresCredential, PostgresTarget } from '../../connections/connection.ts'
import { GatehouseError } from '../../errors.ts'
import { md5PasswordResponse } from './auth/md5-password.ts'
import {
  SCRAM_SHA_256,
  scramClientFinal,
  scramClientFirst,
  verifyScramServerFinal,
} from './auth/scram-sha-256.ts'
import { decodeBackendMessage, type TransactionStatus } from './codec/backend.ts'
import type { MessageFrame } from './codec/framer.ts'
import { encodeFrontendMessage } from './codec/frontend.ts'
import { ProtocolError } from './codec/protocol-error.ts'
import {
  decodeEncryptionResponse,
  encodeStartupPhaseMessage,
  PROTOCOL_VERSION_3_0,
} from './codec/startup.ts'
import { FrameStream } from './frame-stream.ts'

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export type OriginSession = {
  frames: FrameStream
  writer: WritableStreamDefaultWriter<Uint8Array>
  /** Raw frames the origin sent between AuthenticationOk and ReadyForQuery, for the client. */
  greeting: Uint8Array[]
  backendKey: { processId: number; secretKey: Uint8Array } | undefined
  status: TransactionStatus
  close: () => Promise<void>
}

type Socket = ReturnType<typeof connect>

/** Opens a raw socket to the origin (TLS negotiated when required). */
async function openSocket(target: PostgresTarget): Promise<Socket> {
  const tls = target.tls === 'verify-full'
  let socket = connect(
    { hostname: target.host, port: target.port },
    { secureTransport: tls ? 'starttls' : 'off', allowHalfOpen: false }
  )
  await socket.opened
  if (!tls) return socket
  // 54.2.10 SSL Session Encryption: ask, read exactly one byte, then upgrade.
  const writer = socket.writable.getWriter()
  await writer.write(encodeStartupPhaseMessage({ type: 'SSLRequest' }))
  writer.releaseLock()
  const reader = socket.readable.getReader()
  const { value } = await reader.read()
  reader.releaseLock()
  if (!value || decodeEncryptionResponse(value, 'SSLRequest') !== 'accepted') {
    await socket.close().catch(() => {})
    throw originRefused('The origin does not offer TLS, and this connection requires it.')
  }
  socket = socket.startTls()
  await socket.opened
  return socket
}

/** Connects, logs in with the stored credential and waits for the origin's first ReadyForQuery. */
export async function openOriginSession(
  target: PostgresTarget,
  credential: PostgresCredential,
  clientParameters: Record<string, string>
): Promise<OriginSession> {
  const timeoutMs = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  let socket: Socket | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatehouseError(
            'origin.timeout',
            `The origin did not complete login within ${timeoutMs} ms.`
          )
        ),
      timeoutMs
    )
  })
  try {
    return await Promise.race([
      (async () => {
        socket = await openSocket(target).catch((error: unknown) => {
          throw error instanceof GatehouseError ? error : unreachable(error)
        })
        return await login(socket, target, credential, clientParameters)
      })(),
      timeout,
    ])
  } catch (error) {
    await socket?.close().catch(() => {})
    throw error
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

async function login(
  socket: Socket,
  target: PostgresTarget,
  credential: PostgresCredential,
  clientParameters: Record<string, string>
): Promise<OriginSession> {
  const writer = socket.writable.getWriter()
  const frames = new FrameStream(socket.readable, { phase: 'normal' })
  await writer.write(
    encodeStartupPhaseMessage({
      type: 'StartupMessage',
      protocolVersion: PROTOCOL_VERSION_3_0,
      parameters: { ...clientParameters, user: credential.username, database: target.database },
    })
  )

  let scram: ReturnType<typeof scramClientFirst> | undefined
  let expectedSignature: Awaited<ReturnType<typeof scramClientFinal>> | undefined
  let serverVerified = false
  for (;;) {
    const message = decodeBackendMessage(await nextFrame(frames))
    switch (message.type) {
      case 'AuthenticationCleartextPassword':
        await writer.write(
          encodeFrontendMessage({ type: 'PasswordMessage', password: credential.password })
        )
        break
      case 'AuthenticationMD5Password':
        await writer.write(
          encodeFrontendMessage({
            type: 'PasswordMessage',
            password: await md5PasswordResponse(
              credential.username,
              credential.password,
              message.salt
            ),
          })
        )
        break
      case 'AuthenticationSASL':
        if (!message.mechanisms.includes(SCRAM_SHA_256)) {
          throw originRefused(
            `The origin offers ${message.mechanisms.join(', ')}; Gatehouse speaks SCRAM-SHA-256.`
          )
        }
        scram = scramClientFirst()
        await writer.write(
          encodeFrontendMessage({
            type: 'SASLInitialResponse',
            mechanism: SCRAM_SHA_256,
            data: scram.message,
          })
        )
        break
      case 'AuthenticationSASLContinue':
        if (!scram) throw protocolSurprise('SASLContinue before SASL')
        expectedSignature = await scramClientFinal(scram, message.data, credential.password)
        await writer.write(
          encodeFrontendMessage({ type: 'SASLResponse', data: expectedSignature.message })
        )
        break
      case 'AuthenticationSASLFinal':
        if (!expectedSignature) throw protocolSurprise('SASLFinal before SASLContinue')
        verifyScramServerFinal(expectedSignature, message.data)
        serverVerified = true
        break
      case 'AuthenticationOk':
        // A SCRAM server must prove it knows the password before we believe it.
        if (scram && !serverVerified)
          throw protocolSurprise('AuthenticationOk without a SCRAM server signature')
        return afterLogin(socket, writer, frames)
      case 'ErrorResponse':
        throw originRefused(
          'The origin refused the gateway login; an administrator must check the connection credential.',
          `${message.fields.code ?? ''} ${message.fields.message ?? ''}`
        )
      default:
        throw originRefused(
          `The origin asked for ${message.type}, which Gatehouse does not support.`
        )
    }
  }
}

async function afterLogin(
  socket: Socket,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  frames: FrameStream
): Promise<OriginSession> {
  const greeting: Uint8Array[] = []
  let backendKey: OriginSession['backendKey']
  for (;;) {
    const frame = await nextFrame(frames)
    const message = decodeBackendMessage(frame)
    if (message.type === 'ReadyForQuery') {
      return {
        frames,
        writer,
        greeting,
        backendKey,
        status: message.status,
        close: async () => {
          await writer.close().catch(() => {})
          await socket.close().catch(() => {})
        },
      }
    }
    if (message.type === 'ErrorResponse') {
      throw originRefused('The origin refused the session after login.', message.fields.message)
    }
    if (message.type === 'BackendKeyData')
      backendKey = { processId: message.processId, secretKey: message.secretKey }
    greeting.push(frame.bytes)
  }
}

async function nextFrame(frames: FrameStream): Promise<MessageFrame> {
  const frame = await frames.next()
  if (!frame) throw originRefused('The origin closed the connection during login.')
  if (frame.phase !== 'normal') throw protocolSurprise('a startup-phase message from the origin')
  return frame
}

function originRefused(message: string, detail?: string): GatehouseError {
  return new GatehouseError('origin.unreachable', message, detail === undefined ? {} : { detail })
}

function unreachable(error: unknown): GatehouseError {
  return new GatehouseError('origin.unreachable', 'The origin database could not be reached.', {
    detail: error instanceof Error ? error.message : String(error),
    cause: error,
  })
}

function protocolSurprise(what: string): ProtocolError {
  return new ProtocolError(
    'protocol.auth_failed',
    `The origin sent ${what}; the login was abandoned.`
  )
}

/**
 * Passes a client's CancelRequest to the origin on a connection of its own (54.2.9 Canceling
 * Requests in Progress). The origin answers nothing; it cancels if the key matches.
 */
export async function sendCancelRequest(
  target: PostgresTarget,
  processId: number,
  secretKey: Uint8Array
): Promise<void> {
  const socket = await openSocket(target).catch((error: unknown) => {
    throw error instanceof GatehouseError ? error : unreachable(error)
  })
  try {
    const writer = socket.writable.getWriter()
    await writer.write(encodeStartupPhaseMessage({ type: 'CancelRequest', processId, secretKey }))
    await writer.close()
    // The server closes after acting on it; waiting for that keeps the cancel ahead of what follows.
    const reader = socket.readable.getReader()
    while (!(await reader.read()).done) {}
  } finally {
    await socket.close().catch(() => {})
  }
}
