/** A loopback port nothing listens on (bound, then released). */
import { createServer } from 'node:net'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Two free loopback ports, distinct from each other and from `taken`. */
export async function distinctFreePorts(taken: readonly number[] = []): Promise<[number, number]> {
  const ports = new Set<number>()
  while (ports.size < 2) {
    const port = await freePort()
    if (!taken.includes(port)) ports.add(port)
  }
  const [first = 0, second = 0] = ports
  return [first, second]
}
