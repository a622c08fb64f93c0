/** A client-side WebSocket (from a 101 response in workerd) as a byte duplex. */
import type { Duplex } from '../../../src/protocols/ssh/transport/ssh-transport.ts'

export function websocketClientDuplex(socket: WebSocket): Duplex {
  socket.binaryType = 'arraybuffer'
  socket.accept()
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      socket.addEventListener('message', (event) => {
        const data = event.data
        controller.enqueue(
          typeof data === 'string'
            ? new TextEncoder().encode(data)
            : new Uint8Array(data as ArrayBuffer)
        )
      })
      socket.addEventListener('close', () => {
        try {
          controller.close()
        } catch {}
      })
      socket.addEventListener('error', () => {
        try {
          controller.error(new Error('websocket error'))
        } catch {}
      })
    },
  })
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      socket.send(chunk)
    },
    close() {
      try {
        socket.close(1000, 'done')
      } catch {}
    },
  })
  return { readable, writable }
}
