/**
 * Who gets no Postgres session at all: a token scoped to another connection (refused by
 * `gatehouse connect` up front, and by the tunnel itself for a client that skips the
 * CLI), and a token revoked while `connect` runs (psql prints the gateway's reason).
 */

import { describe, expect, inject, it } from 'vitest'
import WebSocket from 'ws'
import { tunnelUrl } from '../../cli/commands/connect.ts'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { psql, startTunnel } from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

/** Opens the tunnel WebSocket directly and reports how the upgrade was answered. */
function openTunnel(token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(tunnelUrl(inject('gatewayUrl'), APP_CONNECTION), {
      headers: { authorization: `Bearer ${token}` },
    })
    ws.once('open', () => {
      ws.terminate()
      resolve({ status: 101, body: '' })
    })
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8')
      })
      response.on('end', () => {
        ws.terminate()
        resolve({ status: response.statusCode ?? 0, body })
      })
    })
    ws.once('error', (error) => {
      if (!error.message.includes('closed before the connection was established')) reject(error)
    })
  })
}

describe('Postgres tunnel refusals', () => {
  it('gatehouse connect refuses up front when the token is scoped to another connection', async () => {
    const result = await gatehouse(['connect', APP_CONNECTION, '--port', '0'], {
      token: inject('postgresBenchToken'),
    })
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: access.denied: This token cannot use a connection named "appdb".\n',
    })
  })

  it('the tunnel itself answers 403 access.denied to a token scoped to another connection', async () => {
    const refused = await openTunnel(inject('postgresBenchToken'))
    expect(refused.status).toBe(403)
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'access.denied' } })

    // The same upgrade with appdb's own token is accepted, so the refusal is the scope's.
    expect((await openTunnel(inject('postgresAgentToken'))).status).toBe(101)
  })

  it('a token revoked while connect runs: psql fails with the gateway reason, connect says it too', async () => {
    const { id, token } = await gatehouseJson<{ id: string; token: string }>([
      'token',
      'create',
      '--name',
      'e2e-pg-agent',
      '--connections',
      APP_CONNECTION,
      '--ttl',
      '1h',
    ])
    const tunnel = await startTunnel(APP_CONNECTION, token)
    try {
      expect((await psql(tunnel.port, ['-At', '-c', 'SELECT 1'])).stdout).toBe('1\n')
      await gatehouse(['token', 'revoke', id])

      const reason =
        'the gateway refused the tunnel to appdb (401): auth.revoked_token: This agent token has been revoked.'
      const result = await psql(tunnel.port, ['-At', '-c', 'SELECT 1'])
      expect(result).toEqual({
        code: 2,
        signal: null,
        stdout: '',
        stderr: `psql: error: connection to server at "127.0.0.1", port ${tunnel.port} failed: FATAL:  Gatehouse: ${reason}\n`,
      })
      expect(tunnel.stderr()).toBe(`gatehouse: ${reason}\n`)
    } finally {
      await tunnel.stop()
    }
  })
})
