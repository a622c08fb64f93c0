/** A raw WebSocket to the tunnel, for feeding the gateway's SSH server malformed bytes. */
import { exports } from 'cloudflare:workers'
import { GATEWAY } from './gateway.ts'

export const GATEWAY_VERSION_LINE = /^SSH-2\.0-Gatehouse_/

export async function openRawTunnel(connection: string, token: string) {
  const response = await exports.default.fetch(
    new Request(`${GATEWAY}/v1/connections/${connection}/tunnel`, {
      headers: { upgrade: 'websocket', authorization: `Bearer ${token}` },
    })
  )
  const socket = response.webSocket
  if (!socket) throw new Error(`tunnel refused: ${response.status}`)
  socket.binaryType = 'arraybuffer'
  socket.accept()
  const chunks: Uint8Array[] = []
  let closed = false
  const wake = new Set<() => void>()
  socket.addEventListener('message', (event) => {
    chunks.push(new Uint8Array(event.data as ArrayBuffer))
  })
  socket.addEventListener('close', () => {
    closed = true
    for (const resolve of wake) resolve()
  })
  return {
    send: (bytes: Uint8Array) => socket.send(bytes),
    received: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk]))),
    closedWithin: (ms: number) =>
      new Promise<boolean>((resolve) => {
        if (closed) return resolve(true)
        const timer = setTimeout(() => {
          wake.delete(done)
          try {
            socket.close(1000, 'test gave up')
          } catch {}
          resolve(false)
        }, ms)
        const done = () => {
          clearTimeout(timer)
          resolve(true)
        }
        wake.add(done)
      }),
  }
}
