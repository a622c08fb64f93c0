/**
 * `GET /v1/connections/:name/tunnel`: a wire protocol carried over a WebSocket. The caller
 * is authenticated and authorized at the upgrade (a refusal is an ordinary HTTP error);
 * after the 101 the protocol adapter for the connection's kind speaks to both ends.
 */
import { Hono } from 'hono'
import { type AppEnv, clientOf } from '../../app-env.ts'
import { GatehouseError } from '../../errors.ts'
import { openSession } from '../../pipeline/session.ts'
import { runPostgresTunnel } from '../postgres/tunnel.ts'
import { gatewayHostKey } from '../ssh/keys/gateway-host-key.ts'
import { runSshTunnel } from '../ssh/tunnel/ssh-tunnel.ts'
import { websocketDuplex } from './websocket-duplex.ts'

export const tunnelRoutes = new Hono<AppEnv>()

tunnelRoutes.get('/:name/tunnel', async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new GatehouseError(
      'request.upgrade_required',
      'The tunnel is a WebSocket: connect with `gatehouse connect NAME --port P`.'
    )
  }
  const { gateway } = c.var
  const session = await openSession(gateway, {
    authorization: c.req.header('authorization'),
    connectionName: c.req.param('name'),
    protocol: 'tunnel',
    protocolByKind: { postgres: 'postgres', ssh: 'ssh' },
    kinds: ['postgres', 'ssh'],
    client: clientOf(c.req.raw),
  })
  const [clientSocket, serverSocket] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket]
  const duplex = websocketDuplex(serverSocket)
  const run =
    session.connection.kind === 'ssh'
      ? gatewayHostKey(gateway.config).then((hostKey) => runSshTunnel(session, duplex, hostKey))
      : runPostgresTunnel(session, duplex)
  gateway.waitUntil(
    run
      .catch((error: unknown) => ({ bytesUp: 0, bytesDown: 0, ended: `failed: ${String(error)}` }))
      .then((summary) => session.close(summary))
  )
  return new Response(null, { status: 101, webSocket: clientSocket })
})
