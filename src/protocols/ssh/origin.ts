/**
 * The gateway as an SSH client of the origin: TCP through cloudflare:sockets, the host key
 * checked against the one pinned on the connection (anything else refuses the connection
 * before a credential is used), then login with the stored key or password.
 */
import { connect } from 'cloudflare:sockets'
import type { SshCredential, SshTarget } from '../../connections/connection.ts'
import { GatehouseError } from '../../errors.ts'
import { authenticateClient, type ClientLogin, OriginAuthError } from './auth/client-auth.ts'
import { SshConnection } from './connection/ssh-connection.ts'
import { ed25519Signer } from './keys/ed25519-signer.ts'
import { ed25519SeedFromOpenSsh } from './keys/openssh-private-key.ts'
import {
  fingerprint,
  type PublicKey,
  parsePublicKeyLine,
  SIGNATURE_ALGORITHMS,
  sameKey,
} from './keys/public-key.ts'
import { SshTransport } from './transport/ssh-transport.ts'
import { DisconnectReason, SshDisconnected, SshProtocolError } from './wire/ssh-error.ts'

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export type SshOrigin = {
  connection: SshConnection
  /** What the origin showed before login (recorded). */
  banner: string
  hostKeyFingerprint: string
  bytes(): { up: number; down: number }
  close(): Promise<void>
}

class HostKeyMismatch extends SshProtocolError {
  readonly offered: PublicKey
  constructor(offered: PublicKey) {
    super('the host key is not the pinned one', DisconnectReason.HOST_KEY_NOT_VERIFIABLE)
    this.offered = offered
  }
}

export async function openSshOrigin(
  name: string,
  target: SshTarget,
  credential: SshCredential
): Promise<SshOrigin> {
  const pinned = parsePublicKeyLine(target.hostKey)
  const login = await loginOf(name, credential)
  const timeoutMs = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const socket = connect({ hostname: target.host, port: target.port }, { allowHalfOpen: false })
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatehouseError(
            'origin.timeout',
            `SSH origin of "${name}" did not answer within ${timeoutMs} ms.`
          )
        ),
      timeoutMs
    )
  })
  let transport: SshTransport | undefined
  try {
    transport = await Promise.race([
      (async () => {
        await socket.opened
        return SshTransport.open(socket, {
          role: 'client',
          hostKeyAlgorithms: SIGNATURE_ALGORITHMS[pinned.type],
          verifyHostKey: (offered) => {
            if (!sameKey(offered, pinned)) throw new HostKeyMismatch(offered)
          },
        })
      })(),
      timeout,
    ])
    const open = transport
    const banner = await Promise.race([authenticateClient(open, login), timeout])
    const connection = new SshConnection(open)
    return {
      connection,
      banner,
      hostKeyFingerprint: await fingerprint(pinned.blob),
      bytes: () => ({ up: open.bytesOut, down: open.bytesIn }),
      close: () => connection.close(),
    }
  } catch (error) {
    transport?.close()
    socket.close().catch(() => {})
    throw await originError(name, target, pinned, error)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

async function loginOf(name: string, credential: SshCredential): Promise<ClientLogin> {
  if (credential.type === 'password') return credential
  try {
    const signer = await ed25519Signer(ed25519SeedFromOpenSsh(credential.privateKey))
    return { type: 'key', username: credential.username, signer }
  } catch (error) {
    throw new GatehouseError(
      'credential.unavailable',
      `The stored SSH key of connection "${name}" cannot be used; an administrator must set it again.`,
      { detail: (error as Error).message, cause: error }
    )
  }
}

async function originError(
  name: string,
  target: SshTarget,
  pinned: PublicKey,
  error: unknown
): Promise<GatehouseError> {
  if (error instanceof GatehouseError) return error
  const detail = error instanceof Error ? error.message : String(error)
  if (error instanceof HostKeyMismatch) {
    return new GatehouseError(
      'origin.host_key_mismatch',
      `The SSH host of "${name}" presented a host key that is not the pinned one; the gateway refused to connect. If the host was re-keyed, an administrator must pin the new key.`,
      {
        detail: `pinned ${await fingerprint(pinned.blob)}, offered ${await fingerprint(error.offered.blob)}`,
        cause: error,
      }
    )
  }
  if (error instanceof OriginAuthError) {
    return new GatehouseError(
      'origin.auth_failed',
      `The SSH host of "${name}" refused the gateway's stored credential.`,
      { detail, cause: error }
    )
  }
  if (error instanceof SshProtocolError) {
    return new GatehouseError(
      'origin.protocol_error',
      `The SSH host of "${name}" could not be spoken to: ${error.message}.`,
      { detail, cause: error }
    )
  }
  if (error instanceof SshDisconnected) {
    return new GatehouseError(
      'origin.protocol_error',
      `The SSH host of "${name}" closed the connection during the SSH handshake; is ${target.host}:${target.port} an SSH server?`,
      { detail, cause: error }
    )
  }
  return new GatehouseError(
    'origin.unreachable',
    `The SSH host of "${name}" (${target.host}:${target.port}) cannot be reached.`,
    { detail, cause: error }
  )
}
