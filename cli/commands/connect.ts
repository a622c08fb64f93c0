/**
 * `gatehouse connect NAME --port P`: the agent's side of a wire-protocol tunnel. It
 * listens on a local port and carries each accepted connection through its own
 * WebSocket to the gateway, authenticated with the agent's token, so an unchanged client
 * (`psql -h 127.0.0.1 -p P`) talks to the target through Gatehouse. Bytes are not
 * interpreted here; the gateway speaks the protocol on both ends.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Command } from 'commander'
import WebSocket from 'ws'
import { contextOf, type GlobalOptions } from '../context.ts'
import { CliError, note, print } from '../output.ts'

/** Stop reading the local client while this much is waiting to go out on the WebSocket. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024
const DEFAULT_HOST = '127.0.0.1'

type ConnectOptions = { port: string; host: string }

export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('open a local port that tunnels a wire protocol (Postgres) to a connection')
    .argument('<name>', 'connection name')
    .requiredOption('--port <port>', 'local port to listen on')
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
      const url = tunnelUrl(client.gateway, name)
      const server = await listen(options.host, Number(options.port), (socket) =>
        pipe(socket, url, token)
      )
      print(
        `Tunnel to ${name} (${target.kind}) listening on ${options.host}:${options.port}. Ctrl+C to stop.`
      )
      await untilSignal(server)
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

/** One local connection ↔ one WebSocket; either side ending ends both. */
function pipe(socket: Socket, url: string, token: string): void {
  socket.pause()
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  })
  ws.binaryType = 'nodebuffer'
  const end = () => {
    socket.destroy()
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate()
  }
  ws.on('open', () => socket.resume())
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return
    if (!socket.write(data)) ws.pause()
  })
  socket.on('drain', () => ws.resume())
  socket.on('data', (chunk: Buffer) => {
    ws.send(chunk, { binary: true })
    if (ws.bufferedAmount > HIGH_WATER_BYTES) {
      socket.pause()
      waitForDrain(ws, () => socket.resume())
    }
  })
  ws.on('unexpected-response', (_request, response) => {
    let body = ''
    response.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8')
    })
    response.on('end', () => {
      note(
        `gatehouse: the gateway refused the tunnel (${response.statusCode}): ${describeRefusal(body)}`
      )
      end()
    })
  })
  ws.on('close', (code, reason) => {
    if (code !== 1000 && code !== 1005)
      note(`gatehouse: tunnel closed (${code} ${reason.toString()})`)
    end()
  })
  ws.on('error', (error) => {
    note(`gatehouse: tunnel error: ${error.message}`)
    end()
  })
  socket.on('close', () => ws.close(1000))
  socket.on('error', () => end())
}

function waitForDrain(ws: WebSocket, resume: () => void): void {
  const check = () => {
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount <= HIGH_WATER_BYTES / 2) resume()
    else setTimeout(check, 5)
  }
  setTimeout(check, 5)
}

function describeRefusal(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } }
    if (parsed.error?.code) return `${parsed.error.code}: ${parsed.error.message ?? ''}`
  } catch {}
  return body.slice(0, 200)
}

function untilSignal(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => server.close(() => resolve())
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
