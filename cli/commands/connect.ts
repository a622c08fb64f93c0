/**
 * `gatehouse connect NAME --port P`: the agent's side of a wire-protocol tunnel. It
 * listens on a local port and carries each accepted connection through its own
 * WebSocket to the gateway, authenticated with the agent's token, so an unchanged client
 * (`psql -h 127.0.0.1 -p P`, `ssh -p P agent@127.0.0.1`) talks to the target through
 * Gatehouse. Bytes are not interpreted here; the gateway speaks the protocol on both ends.
 * The one exception is a tunnel that cannot open: then the local client is answered in its
 * own protocol, so psql prints why instead of "server closed the connection unexpectedly".
 */
import { createServer, type Server, type Socket } from 'node:net'
import { type Command, InvalidArgumentError } from 'commander'
import WebSocket from 'ws'
import { contextOf, type GlobalOptions } from '../context.ts'
import { CliError, note, print } from '../output.ts'
import { refusePostgresStartup, sqlStateForRefusal } from '../postgres-refusal.ts'

/** Stop reading the local client while this much is waiting to go out on the WebSocket. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024
const DEFAULT_HOST = '127.0.0.1'
/** How long the WebSocket upgrade may take before the local client is told it failed. */
const HANDSHAKE_TIMEOUT_MS = 15_000
/** After Ctrl+C, how long open WebSockets get to finish their close handshake. */
const CLOSE_GRACE_MS = 1_000
/** The connection kinds `connect` can carry. */
const TUNNEL_KINDS = new Set(['postgres', 'ssh'])

type ConnectOptions = { port: number; host: string }

/** One local client and its WebSocket. */
type Tunnel = {
  /** Ends both sides at once (Ctrl+C). */
  stop: () => void
  /** Settles when the local socket has closed. */
  closed: Promise<void>
}

export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('open a local port that tunnels a wire protocol (Postgres, SSH) to a connection')
    .argument('<name>', 'connection name')
    .requiredOption('--port <port>', 'local port to listen on (0 picks a free one)', localPort)
    .option('--host <host>', 'local address to listen on', DEFAULT_HOST)
    .action(async (name: string, options: ConnectOptions, command: Command) => {
      const { client } = contextOf(command)
      const { token } = command.optsWithGlobals<GlobalOptions>()
      if (!token) {
        throw new CliError(
          'auth.missing_token',
          'connect needs the agent token: --token or GATEHOUSE_TOKEN'
        )
      }
      // Fail here, once, with the gateway's own words, rather than on every client connection.
      const me = await client.json<{ connections: { name: string; kind: string }[] }>(
        'GET',
        '/v1/whoami'
      )
      const target = me.connections.find((connection) => connection.name === name)
      if (!target) {
        throw new CliError('access.denied', `This token cannot use a connection named "${name}".`)
      }
      if (!TUNNEL_KINDS.has(target.kind)) {
        throw new CliError(
          'connect.unsupported_kind',
          `connect tunnels Postgres and SSH connections; ${name} is of kind ${target.kind}` +
            (target.kind === 'http' ? ` (call ${client.gateway}/proxy/${name}/… instead).` : '.')
        )
      }
      const url = tunnelUrl(client.gateway, name)
      const tunnels = new Set<Tunnel>()
      const server = await listen(options.host, options.port, (socket) => {
        const tunnel = pipe(socket, url, token, name, target.kind)
        tunnels.add(tunnel)
        void tunnel.closed.then(() => tunnels.delete(tunnel))
      })
      const address = `${displayHost(options.host)}:${boundPort(server, options.port)}`
      print(`Tunnel to ${name} (${target.kind}) listening on ${address}. Ctrl+C to stop.`)
      if (target.kind === 'ssh') {
        // The gateway logs in to the server itself: the user named here is only recorded.
        print(`  ssh -p ${boundPort(server, options.port)} agent@${clientHost(options.host)}`)
      }
      const signal = await nextSignal()
      server.close()
      const open = [...tunnels]
      for (const tunnel of open) tunnel.stop()
      await Promise.all(open.map((tunnel) => tunnel.closed))
      if (open.length > 0) {
        note(`gatehouse: ${signal}: closed ${open.length} open connection(s) to ${name}.`)
      }
    })
}

export function tunnelUrl(gateway: string, name: string): string {
  const url = new URL(`${gateway}/v1/connections/${encodeURIComponent(name)}/tunnel`)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.toString()
}

function listen(host: string, port: number, onSocket: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true }, onSocket)
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          error.code === 'EADDRINUSE' ? 'connect.port_busy' : 'connect.listen_failed',
          error.code === 'EADDRINUSE'
            ? `${host}:${port} is already in use; pick another --port.`
            : error.message
        )
      )
    )
    server.listen(port, host, () => resolve(server))
  })
}

/**
 * One local connection ↔ one WebSocket; either side ending ends both. The client is not
 * read until the WebSocket is open, so a refused tunnel can still answer its startup.
 */
function pipe(socket: Socket, url: string, token: string, name: string, kind: string): Tunnel {
  socket.pause()
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  })
  ws.binaryType = 'nodebuffer'
  /** Set once this tunnel's fate is decided, so later events add no second message. */
  let settled = false

  const refuse = (reason: string, sqlState: string) => {
    if (settled) return
    settled = true
    note(`gatehouse: ${reason}`)
    if (kind === 'ssh') {
      // RFC 4253 §4.2: a server may send lines before its version string; `ssh -v` shows them.
      socket.end(`Gatehouse: ${reason}\r\n`)
      return
    }
    refusePostgresStartup(socket, sqlState, `Gatehouse: ${reason}`)
  }

  ws.on('open', () => {
    socket.on('data', (chunk: Buffer) => {
      ws.send(chunk, { binary: true })
      if (ws.bufferedAmount > HIGH_WATER_BYTES) {
        socket.pause()
        waitForDrain(ws, () => socket.resume())
      }
    })
    socket.resume()
  })
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return
    if (!socket.write(data)) ws.pause()
  })
  socket.on('drain', () => ws.resume())
  ws.on('unexpected-response', (_request, response) => {
    let body = ''
    response.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8')
    })
    response.on('end', () => {
      const refusal = parseRefusal(body)
      refuse(
        `the gateway refused the tunnel to ${name} (${response.statusCode}): ` +
          (refusal ? `${refusal.code}: ${refusal.message}` : body.slice(0, 200)),
        sqlStateForRefusal(refusal?.code)
      )
      ws.terminate()
    })
  })
  ws.on('error', (error) => {
    // Once settled, the refusal (or the closed client) owns the socket; this is the echo.
    if (settled) return
    if (ws.readyState !== WebSocket.OPEN) {
      refuse(`could not open the tunnel to ${name}: ${error.message}`, '08001')
      return
    }
    settled = true
    note(`gatehouse: tunnel to ${name}: ${error.message}`)
    socket.destroy()
  })
  ws.on('close', (code, reason) => {
    if (settled) return
    settled = true
    if (code !== 1000 && code !== 1005) {
      note(`gatehouse: tunnel to ${name} closed (${code} ${reason.toString()})`.trimEnd())
    }
    // end, not destroy: what the gateway sent last (a FATAL ErrorResponse) must reach the client.
    socket.end()
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref()
  })
  socket.on('close', () => {
    settled = true
    if (ws.readyState === WebSocket.OPEN) ws.close(1000)
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
  })
  socket.on('error', () => socket.destroy())

  return {
    closed,
    stop: () => {
      settled = true
      socket.destroy()
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1001, 'gatehouse connect stopped')
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
      } else {
        ws.terminate()
      }
    },
  }
}

function waitForDrain(ws: WebSocket, resume: () => void): void {
  const check = () => {
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount <= HIGH_WATER_BYTES / 2) resume()
    else setTimeout(check, 5)
  }
  setTimeout(check, 5)
}

function parseRefusal(body: string): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }
    const { code, message } = parsed.error ?? {}
    if (typeof code === 'string')
      return { code, message: typeof message === 'string' ? message : '' }
  } catch {}
  return undefined
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve(signal)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

function boundPort(server: Server, requested: number): number {
  const address = server.address()
  return typeof address === 'object' && address ? address.port : requested
}

function displayHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** Where a local client reaches the listener: a wildcard address is reached on loopback. */
function clientHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '::1'
  return host
}

/** commander parser for the local port; 0 lets the system pick one (printed when listening). */
function localPort(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number > 65_535) {
    throw new InvalidArgumentError('must be a port number, 0-65535.')
  }
  return number
}
