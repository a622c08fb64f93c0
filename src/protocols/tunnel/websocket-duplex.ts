/**
 * A server-side WebSocket as a byte duplex, the same shape cloudflare:sockets gives for
 * the origin, so protocol adapters see two symmetric streams. A WebSocket cannot push
 * back on its sender, so unread input is bounded: past the limit the tunnel is closed
 * (1009) instead of buffering without end. Text frames are a protocol error (1003).
 */

/** Unread client bytes held at most before the tunnel is closed. */
export const MAX_UNREAD_TUNNEL_BYTES = 16 * 1024 * 1024

export type Duplex = {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
  /** Aborts when the client end goes away, even while nobody is reading. */
  closed?: AbortSignal
}

/** Accepts a server-side WebSocket and wraps it. */
export function websocketDuplex(
  socket: WebSocket,
  maxUnreadBytes = MAX_UNREAD_TUNNEL_BYTES
): Duplex {
  // The standard default is 'blob' (workerd follows it at this compatibility date), and
  // the type must be chosen before accept(); so the duplex accepts the socket itself.
  socket.binaryType = 'arraybuffer'
  socket.accept()
  let unread = 0
  let ended = false
  const gone = new AbortController()
  socket.addEventListener('close', () => gone.abort(new Error('the client closed the tunnel')))
  socket.addEventListener('error', () => gone.abort(new Error('the tunnel failed')))
  const closeSocket = (code: number, reason: string) => {
    if (ended) return
    ended = true
    try {
      socket.close(code, reason)
    } catch {}
  }
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        socket.addEventListener('message', (event) => {
          if (ended) return
          if (typeof event.data === 'string') {
            controller.error(new Error('text frame on a binary tunnel'))
            closeSocket(1003, 'binary frames only')
            return
          }
          const bytes = new Uint8Array(event.data as ArrayBuffer)
          unread += bytes.byteLength
          if (unread > maxUnreadBytes) {
            controller.error(new Error('tunnel input over the buffer limit'))
            closeSocket(1009, 'too much unread data')
            return
          }
          controller.enqueue(bytes)
        })
        socket.addEventListener('close', () => {
          ended = true
          try {
            controller.close()
          } catch {}
        })
        socket.addEventListener('error', () => {
          ended = true
          try {
            controller.error(new Error('tunnel WebSocket failed'))
          } catch {}
        })
      },
    },
    // Count what the consumer has taken, so `unread` tracks what is really held.
    { highWaterMark: 0 }
  )
  const reader = readable.getReader()
  const counted = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) return controller.close()
      unread -= value.byteLength
      controller.enqueue(value)
    },
    cancel(reason) {
      closeSocket(1000, 'closed by the gateway')
      return reader.cancel(reason)
    },
  })
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (ended) throw new Error('tunnel closed')
      socket.send(chunk)
    },
    close() {
      closeSocket(1000, 'done')
    },
    abort() {
      closeSocket(1011, 'gateway error')
    },
  })
  return { readable: counted, writable, closed: gone.signal }
}
