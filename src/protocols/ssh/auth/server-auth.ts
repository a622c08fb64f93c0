/**
 * User authentication as the gateway's SSH server (RFC 4252). The agent already proved
 * who it is with its Gatehouse token when the tunnel opened, so the SSH login carries no
 * secret: any method succeeds at once, and the name it asked for is only recorded. The
 * agent never learns, or needs, a credential of the origin.
 */

import type { SshTransport } from '../transport/ssh-transport.ts'
import { Msg } from '../wire/message-numbers.ts'
import { DisconnectReason, SshDisconnected, SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'
import { payload } from '../wire/ssh-writer.ts'

/** Resolves with the user name the client asked for; `banner` is shown before the login succeeds. */
export async function acceptClient(transport: SshTransport, banner: string): Promise<string> {
  const service = await transport.receive()
  if (!service) throw new SshDisconnected('the client closed the connection before logging in')
  if (service[0] !== Msg.SERVICE_REQUEST) {
    throw new SshProtocolError(`expected SERVICE_REQUEST, got message ${service[0]}`)
  }
  const name = new SshReader(service, 1).text()
  if (name !== 'ssh-userauth') {
    throw new SshProtocolError(
      `service ${name} is not available`,
      DisconnectReason.SERVICE_NOT_AVAILABLE
    )
  }
  await transport.send(payload((w) => w.byte(Msg.SERVICE_ACCEPT).text(name)))
  const request = await transport.receive()
  if (!request) throw new SshDisconnected('the client closed the connection before logging in')
  if (request[0] !== Msg.USERAUTH_REQUEST) {
    throw new SshProtocolError(`expected USERAUTH_REQUEST, got message ${request[0]}`)
  }
  const reader = new SshReader(request, 1)
  const user = reader.text().slice(0, 64)
  const requested = reader.text()
  if (requested !== 'ssh-connection') {
    throw new SshProtocolError(
      `service ${requested} is not available`,
      DisconnectReason.SERVICE_NOT_AVAILABLE
    )
  }
  await transport.send(payload((w) => w.byte(Msg.USERAUTH_BANNER).text(banner).text('')))
  await transport.send(payload((w) => w.byte(Msg.USERAUTH_SUCCESS)))
  return user
}
