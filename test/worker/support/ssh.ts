/**
 * SSH helpers for tests inside workerd: the `sshd` the global setup started, connection
 * bodies for it, the exec API, and an SSH client (the project's own transport, in the
 * client role) speaking through the gateway's tunnel, to test the gateway's server side.
 */
import { env, exports } from 'cloudflare:workers'
import { inject } from 'vitest'
import { authenticateClient } from '../../../src/protocols/ssh/auth/client-auth.ts'
import { SshConnection } from '../../../src/protocols/ssh/connection/ssh-connection.ts'
import { gatewayHostKey } from '../../../src/protocols/ssh/keys/gateway-host-key.ts'
import { sameKey } from '../../../src/protocols/ssh/keys/public-key.ts'
import { SshTransport } from '../../../src/protocols/ssh/transport/ssh-transport.ts'
import { admin, asAgent, GATEWAY, gatewayFetch } from './gateway.ts'
import { websocketClientDuplex } from './websocket-client.ts'

export function sshd() {
  return inject('sshd')
}

/** PUTs an ssh connection to the test sshd; `overrides` replace target or credential fields. */
export async function putSshConnection(
  name: string,
  options: {
    hostKey?: string
    port?: number
    credential?: Record<string, unknown>
    target?: Record<string, unknown>
  } = {}
): Promise<Response> {
  const server = sshd()
  return admin('PUT', `/connections/${name}`, {
    kind: 'ssh',
    target: {
      host: server.host,
      port: options.port ?? server.port,
      hostKey: options.hostKey ?? server.hostKeys.ed25519,
      ...options.target,
    },
    credential: options.credential ?? {
      type: 'key',
      username: server.user,
      privateKey: server.clientPrivateKey,
    },
  })
}

export type ExecBody = {
  exitCode: number | null
  signal: string | null
  stdout: string
  stderr: string
  timedOut: boolean
  truncated: boolean
  sessionId: string
  masked?: { by: string; count: number }[]
}

export function execRequest(
  connection: string,
  token: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<Response> {
  return gatewayFetch(
    `/v1/connections/${connection}/exec`,
    asAgent(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
  )
}

/** Opens the tunnel and logs in over SSH as a client would; the gateway's host key is checked. */
export async function sshThroughTunnel(connection: string, token: string) {
  const response = await exports.default.fetch(
    new Request(`${GATEWAY}/v1/connections/${connection}/tunnel`, {
      headers: { upgrade: 'websocket', authorization: `Bearer ${token}` },
    })
  )
  if (!response.webSocket) {
    throw Object.assign(new Error(`tunnel refused: ${response.status}`), { response })
  }
  const duplex = websocketClientDuplex(response.webSocket)
  const expected = await gatewayHostKey({
    credentialsKey: Uint8Array.from(atob(env.CREDENTIALS_KEY as string), (c) => c.charCodeAt(0)),
  })
  const transport = await SshTransport.open(duplex, {
    role: 'client',
    hostKeyAlgorithms: ['ssh-ed25519'],
    verifyHostKey: (key) => {
      if (!sameKey(key, expected.publicKey)) throw new Error('not the gateway host key')
    },
  })
  const banner = await authenticateClient(transport, {
    type: 'password',
    username: 'agent',
    password: '',
  })
  const sessionId = /recorded as ([0-9a-f-]{36})/.exec(banner)?.[1] ?? ''
  return { connection: new SshConnection(transport), transport, sessionId, banner }
}

/** Runs `command` on an exec channel; collects output and the exit status. */
export async function execOnChannel(connection: SshConnection, command: string, pty = false) {
  const channel = await connection.openSession()
  if (pty) {
    await channel.request('pty-req', true, (w) =>
      w
        .text('xterm')
        .uint32(80)
        .uint32(24)
        .uint32(0)
        .uint32(0)
        .string(new Uint8Array([0]))
    )
  }
  const accepted = await channel.request('exec', true, (w) => w.text(command))
  await channel.eof()
  const [stdout, stderr] = await Promise.all([
    new Response(channel.data).text(),
    new Response(channel.extended).text(),
  ])
  return { accepted, stdout, stderr, exit: await channel.exit }
}
