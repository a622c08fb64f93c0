/** The benchmark's origin: a small JSON answer with a Content-Length, as a typical API gives. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const BODY = JSON.stringify({
  items: Array.from({ length: 12 }, (_, index) => ({
    id: index + 1,
    sku: `SKU-${1000 + index}`,
    qty: index % 4,
    price: '19.90',
  })),
})

export async function startBenchOrigin(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(BODY),
      })
      response.end(BODY)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
