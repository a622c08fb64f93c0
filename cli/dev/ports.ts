/** Checks ports before anything starts, so a busy one is reported plainly instead of as a wrangler stack trace. */
import { createServer } from 'node:net'
import { CliError } from '../output.ts'

/** Throws `dev.port_busy` if something already listens on host:port. */
export async function assertPortFree(
  host: string,
  port: number,
  what: string,
  flag: string
): Promise<void> {
  const problem = await new Promise<string | undefined>((resolve) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    server.listen(port, host, () => server.close(() => resolve(undefined)))
  })
  if (problem === undefined) return
  const reason = problem === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${problem})`
  throw new CliError(
    'dev.port_busy',
    `Port ${port} on ${host} (${what}) ${reason}. Stop whatever holds it, or pick another with ${flag} <port>.`
  )
}
