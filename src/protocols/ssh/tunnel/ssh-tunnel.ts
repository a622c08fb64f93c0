/**
 * An agent's OpenSSH client through the tunnel: the gateway is the SSH server to it (its
 * own host key; the agent was authenticated by its Gatehouse token at the upgrade) and an
 * SSH client of the origin with the stored credential. Session channels are joined pair
 * by pair (channel-bridge.ts); any other channel (port forwarding) is refused. The tunnel
 * ends when either side leaves, a responder kills the session, or a time limit passes.
 */
import { SshCredential, SshTarget } from '../../../connections/connection.ts'
import { toGatehouseError } from '../../../errors.ts'
import type { GatewaySession } from '../../../pipeline/session.ts'
import { sessionLimits } from '../../tunnel/session-limits.ts'
import type { Duplex } from '../../tunnel/websocket-duplex.ts'
import { acceptClient } from '../auth/server-auth.ts'
import { OpenFailure, SshConnection } from '../connection/ssh-connection.ts'
import type { SshSigner } from '../keys/ed25519-signer.ts'
import { openSshOrigin, type SshOrigin } from '../origin.ts'
import { SshTransport } from '../transport/ssh-transport.ts'
import { DisconnectReason } from '../wire/ssh-error.ts'
import { bridgeChannel } from './channel-bridge.ts'

/** Version exchange, key exchange and login must be done within this. */
const HANDSHAKE_TIMEOUT_MS = 15_000

export type SshTunnelSummary = {
  bytesUp: number
  bytesDown: number
  ended: string
  /** Key exchanges with the client, the first included (re-keying shows as more). */
  keyExchanges?: number
}

export async function runSshTunnel(
  session: GatewaySession,
  client: Duplex,
  hostKey: SshSigner
): Promise<SshTunnelSummary> {
  const summary: SshTunnelSummary = { bytesUp: 0, bytesDown: 0, ended: 'client closed' }
  let transport: SshTransport | undefined
  let origin: SshOrigin | undefined
  const bridges = new Set<Promise<void>>()
  try {
    // A client that stalls before logging in is let go (no slow handshakes holding sockets).
    const handshake = AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
    transport = await SshTransport.open(client, { role: 'server', hostKey }, handshake)
    const opened = transport
    const stalled = () => opened.close()
    handshake.addEventListener('abort', stalled, { once: true })
    const banner = `Connected through Gatehouse; this session is recorded as ${session.id}.\r\n`
    const user = await acceptClient(transport, banner).finally(() =>
      handshake.removeEventListener('abort', stalled)
    )
    const killed = session.killed
    session.recordDetail({ ssh: { client: transport.peerVersion.slice(0, 100), user } })
    const target = SshTarget.parse(session.connection.target)
    try {
      const credential = SshCredential.parse(await session.loginCredential())
      origin = await openSshOrigin(session.connection.name, target, credential)
    } catch (error) {
      const refusal = toGatehouseError(error)
      session.recordRefusal(refusal)
      summary.ended = refusal.code
      await transport.disconnect(DisconnectReason.BY_APPLICATION, `Gatehouse: ${refusal.message}`)
      return summary
    }
    const reached = origin
    if (reached.banner) session.recordDetail({ ssh: { banner: reached.banner.slice(0, 2000) } })
    const connection = new SshConnection(transport, async (request, accept) => {
      if (request.type !== 'session') {
        return {
          refuse: OpenFailure.ADMINISTRATIVELY_PROHIBITED,
          message: `Gatehouse carries shell sessions only; ${request.type.slice(0, 40)} channels are refused.`,
        }
      }
      let originChannel: Awaited<ReturnType<typeof reached.connection.openSession>>
      try {
        originChannel = await reached.connection.openSession()
      } catch {
        return { refuse: OpenFailure.CONNECT_FAILED, message: 'the host refused a session' }
      }
      const bridge = bridgeChannel(session, accept(), originChannel)
      bridges.add(bridge)
      void bridge.finally(() => bridges.delete(bridge))
      return undefined
    })
    // Activity is traffic either way (output of a quiet command counts, keepalives too).
    const open = transport
    let seen = -1
    let activeAt = Date.now()
    const limits = sessionLimits({
      idleTimeoutMs: target.idleTimeoutMs,
      maxSessionMs: target.maxSessionMs,
      lastActivity: () => {
        const traffic = open.bytesIn + open.bytesOut
        if (traffic !== seen) [seen, activeAt] = [traffic, Date.now()]
        return activeAt
      },
      busy: () => false,
    })
    try {
      summary.ended = await Promise.race([
        connection.done.then(() => 'client closed'),
        reached.connection.done.then(() => 'origin closed'),
        untilAborted(killed),
        limits.expired.catch((error: unknown) => toGatehouseError(error).message),
      ])
    } finally {
      limits.stop()
    }
    const farewell =
      summary.ended === 'origin closed'
        ? 'Gatehouse: the host closed the connection.'
        : summary.ended === 'client closed'
          ? ''
          : `Gatehouse: ${summary.ended}`
    if (farewell) await transport.disconnect(DisconnectReason.BY_APPLICATION, farewell)
    return summary
  } catch (error) {
    summary.ended = error instanceof Error ? error.message : String(error)
    await transport?.fail(error)
    return summary
  } finally {
    await origin?.close().catch(() => {})
    transport?.close()
    await Promise.allSettled(bridges)
    summary.bytesUp = transport?.bytesIn ?? 0
    summary.bytesDown = transport?.bytesOut ?? 0
    if (transport) summary.keyExchanges = transport.keyExchanges
  }
}

function untilAborted(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const end = () => resolve(toGatehouseError(signal.reason).message)
    if (signal.aborted) end()
    else signal.addEventListener('abort', end, { once: true })
  })
}
