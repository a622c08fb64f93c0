/**
 * `gatehouse connect` itself: what it prints, what it refuses before listening, and that
 * Ctrl+C ends the connections it carries instead of waiting for their clients to leave.
 */
import { createServer } from 'node:net'
import { describe, expect, inject, it } from 'vitest'
import { freePort } from '../harness/free-port.ts'
import { gatehouse } from './support/cli.ts'
import { pgClient, sleep, startTunnel } from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

describe('gatehouse connect', () => {
  it('prints one line naming the connection, its kind and the local address', async () => {
    const tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
    const stopped = await tunnel.stop()
    expect(stopped).toEqual({
      code: 0,
      signal: null,
      stdout: `Tunnel to appdb (postgres) listening on 127.0.0.1:${tunnel.port}. Ctrl+C to stop.\n`,
      stderr: '',
    })
  })

  it('Ctrl+C closes the open client connections at once and exits 0', async () => {
    const tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
    const client = await pgClient(tunnel.port)
    const lost = new Promise<Error>((resolve) => client.once('error', resolve))
    const sleeping = client.query('SELECT pg_sleep(20)').then(
      () => undefined,
      (error: unknown) => error
    )
    await sleep(300)
    const started = Date.now()
    const stopped = await tunnel.stop('SIGINT')
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(stopped.code).toBe(0)
    expect(stopped.stderr).toBe('gatehouse: SIGINT: closed 1 open connection(s) to appdb.\n')
    expect(await sleeping).toMatchObject({ message: 'Connection terminated unexpectedly' })
    expect((await lost).message).toBe('Connection terminated unexpectedly')
  })

  it('refuses a connection that is neither Postgres nor SSH, before listening', async () => {
    const result = await gatehouse(['connect', 'demo', '--port', '0'], {
      token: inject('agentToken'),
    })
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: connect.unsupported_kind: connect tunnels Postgres and SSH connections; demo is of kind http (call ${inject('gatewayUrl')}/proxy/demo/… instead).\n`,
    })
  })

  it('says the agent token is missing', async () => {
    const result = await gatehouse(['connect', APP_CONNECTION, '--port', '0'], { token: null })
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: auth.missing_token: connect needs the agent token: --token or GATEHOUSE_TOKEN\n',
    })
  })

  it('exits 1 naming the address when the local port is taken', async () => {
    const port = await freePort()
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve))
    try {
      const result = await gatehouse(['connect', APP_CONNECTION, '--port', `${port}`], {
        token: inject('postgresAgentToken'),
      })
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: connect.port_busy: 127.0.0.1:${port} is already in use; pick another --port.\n`,
      })
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })

  it('exits 2 when --port is not a port number', async () => {
    const result = await gatehouse(['connect', APP_CONNECTION, '--port', '5432x'], {
      token: inject('postgresAgentToken'),
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      "error: option '--port <port>' argument '5432x' is invalid. must be a port number, 0-65535.\n(add --help for usage)\n"
    )
  })
})
