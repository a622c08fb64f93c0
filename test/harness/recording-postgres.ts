/**
 * A fake Postgres origin that logs the gateway in without a password (AuthenticationOk,
 * a backend key, ReadyForQuery) and then only counts: every byte that arrives after login
 * is recorded, so tests can prove that refused or malformed traffic never reached it.
 * An HTTP control port reports (GET /received) and resets (DELETE /received) the counts.
 */
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer, type Socket } from 'node:net'

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

const GREETING = Buffer.concat([
  message('R', Buffer.from([0, 0, 0, 0])),
  message('S', Buffer.from('server_version\u000015.0\u0000', 'latin1')),
  message('K', Buffer.from([0, 0, 0, 42, 0, 0, 0, 7])),
  message('Z', Buffer.from('I', 'latin1')),
])

export type RecordingPostgres = { port: number; controlPort: number; close: () => Promise<void> }

export async function startRecordingPostgres(): Promise<RecordingPostgres> {
  let received = 0
  let sessions = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let startup: Buffer = Buffer.alloc(0)
    let loggedIn = false
    socket.on('data', (chunk: Buffer) => {
      if (loggedIn) {
        received += chunk.length
        return
      }
      startup = Buffer.concat([startup, chunk])
      if (startup.length < 4 || startup.length < startup.readInt32BE(0)) return
      const extra = startup.length - startup.readInt32BE(0)
      loggedIn = true
      sessions++
      received += extra
      socket.write(GREETING)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const control = createHttpServer((request, response) => {
    if (request.method === 'DELETE') {
      received = 0
      sessions = 0
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ received, sessions }))
  })
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    controlPort: (control.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => {
          control.closeAllConnections()
          control.close(() => resolve())
        }),
      ])
    },
  }
}
