import type { SshSigner } from '../keys/ed25519-signer.ts'
import type { SshTransport } from '../transport/ssh-transport.ts'
import { Msg } from '../wire/message-numbers.ts'
import { SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'
import { payload } from '../wire/ssh-writer.ts'

const SERVICE = 'ssh-connection'
/** Messages skipped while waiting for an answer (banners, EXT_INFO) at most. */
const MAX_INTERLUDES = 16

export class OriginAuthError extends Error {
  override readonly name = 'OriginAuthError'
}

export type ClientLogin =
  | { type: 'key'; username: string; signer: SshSigner }
  | { type: 'password'; username: string; password: string }

/** Authenticates; resolves with any banner text the origin showed. */
export async function authenticateClient(
  transport: SshTransport,
  login: ClientLogin
): Promise<string> {
  await transport.send(payload((w) => w.byte(Msg.SERVICE_REQUEST).text('ssh-userauth')))
  await expect(transport, Msg.SERVICE_ACCEPT, () => {})
  let banner = ''
  const onBanner = (message: Uint8Array) => {
    if (message[0] === Msg.USERAUTH_BANNER)
      banner += new SshReader(message, 1).text().slice(0, 4096)
  }
  await transport.send(await request(transport, login))
  const answer = await expect(transport, [Msg.USERAUTH_SUCCESS, Msg.USERAUTH_FAILURE], onBanner)
  if (answer[0] === Msg.USERAUTH_FAILURE) {
    const methods = new SshReader(answer, 1).nameList()
    throw new OriginAuthError(
      `the origin refused ${login.type === 'key' ? 'the key' : 'the password'} for user ${login.username} (it accepts: ${methods.join(', ') || 'nothing'})`
    )
  }
  return banner
}

async function request(transport: SshTransport, login: ClientLogin): Promise<Uint8Array> {
  if (login.type === 'password') {
    return payload((w) =>
      w
        .byte(Msg.USERAUTH_REQUEST)
        .text(login.username)
        .text(SERVICE)
        .text('password')
        .boolean(false)
        .text(login.password)
    )
  }
  const { publicKey } = login.signer
  const signed = payload((w) =>
    w
      .string(transport.sessionId)
      .byte(Msg.USERAUTH_REQUEST)
      .text(login.username)
      .text(SERVICE)
      .text('publickey')
      .boolean(true)
      .text(publicKey.type)
      .string(publicKey.blob)
  )
  const signature = await login.signer.sign(signed)
  return payload((w) =>
    w
      .byte(Msg.USERAUTH_REQUEST)
      .text(login.username)
      .text(SERVICE)
      .text('publickey')
      .boolean(true)
      .text(publicKey.type)
      .string(publicKey.blob)
      .string(signature)
  )
}

async function expect(
  transport: SshTransport,
  types: number | number[],
  interlude: (message: Uint8Array) => void
): Promise<Uint8Array> {
  const wanted = Array.isArray(types) ? types : [types]
  for (let i = 0; i < MAX_INTERLUDES; i++) {
    const message = await transport.receive()
    if (!message) throw new OriginAuthError('the origin closed the connection during login')
    if (wanted.includes(message[0] as number)) return message
    if (message[0] === Msg.USERAUTH_BANNER || message[0] === Msg.EXT_INFO) {
      interlude(message)
      continue
    }
    throw new SshProtocolError(`unexpected message ${message[0]} during login`)
  }
  throw new SshProtocolError('too many messages during login')
}
