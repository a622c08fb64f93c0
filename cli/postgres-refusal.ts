/**
 * `gatehouse connect` when a tunnel cannot open: the CLI plays the Postgres server just
 * long enough to say why, so psql prints the gateway's reason ("FATAL: Gatehouse: …")
 * instead of "server closed the connection unexpectedly". Nothing else in the CLI reads
 * Postgres bytes; an open tunnel carries them untouched.
 */
import type { Socket } from 'node:net'

// Postgres protocol: 55.7 Message Formats (SSLRequest, GSSENCRequest, CancelRequest codes).
const SSL_REQUEST_CODE = 80_877_103
const GSSENC_REQUEST_CODE = 80_877_104
const CANCEL_REQUEST_CODE = 80_877_102
/** Longer than any startup packet a real client sends; anything bigger is not Postgres. */
const MAX_STARTUP_BYTES = 10_000
/** How long a refused client may take to send its startup message before it is cut off. */
const STARTUP_WAIT_MS = 5_000

/** Appendix A: the SQLSTATE a Postgres client sees for a gateway refusal code. */
export function sqlStateForRefusal(code: string | undefined): string {
  if (code?.startsWith('auth.')) return '28000' // invalid_authorization_specification
  if (code === 'access.denied' || code === 'access.locked') return '42501' // insufficient_privilege
  if (code === 'connection.not_found') return '3D000' // invalid_catalog_name
  return '08004' // sqlserver_rejected_establishment_of_sqlconnection
}

/**
 * Reads the client's startup packets: declines TLS and GSS encryption ('N'), answers the
 * StartupMessage with a FATAL ErrorResponse and closes. A CancelRequest is just closed,
 * as a server would. The socket must not have been read yet (it may be paused).
 */
export function refusePostgresStartup(socket: Socket, sqlState: string, message: string): void {
  let buffered = Buffer.alloc(0)
  let answered = false
  const timer = setTimeout(() => socket.destroy(), STARTUP_WAIT_MS)
  socket.once('close', () => clearTimeout(timer))
  socket.on('data', (chunk: Buffer) => {
    if (answered) return
    buffered = Buffer.concat([buffered, chunk])
    while (buffered.length >= 8) {
      const length = buffered.readInt32BE(0)
      if (length < 8 || length > MAX_STARTUP_BYTES) {
        answered = true
        socket.destroy()
        return
      }
      if (buffered.length < length) return
      const code = buffered.readInt32BE(4)
      buffered = buffered.subarray(length)
      if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
        socket.write('N')
        continue
      }
      answered = true
      clearTimeout(timer)
      if (code === CANCEL_REQUEST_CODE) socket.end()
      else socket.end(fatalErrorResponse(sqlState, message))
      return
    }
  })
  socket.resume()
}

/** An ErrorResponse ('E') with severity FATAL, a SQLSTATE and a message. */
function fatalErrorResponse(sqlState: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...[
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', sqlState],
      ['M', message],
    ].map(([type, value]) => Buffer.from(`${type}${value}\0`, 'utf8')),
    Buffer.from([0]),
  ])
  const header = Buffer.alloc(5)
  header.write('E', 0, 'latin1')
  header.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([header, fields])
}
