/**
 * The cost of masking on a pgbench-style read: the same single-row SELECT of a customers
 * table (emails, cards, free-text notes) through two tunnels in one run, one connection
 * with the columns masked and every detector on, one without.
 */
import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '../test/harness/free-port.ts'
import { PG_ROLES, startPostgres } from '../test/harness/postgres-server.ts'
import type { BenchGateway } from './bench-gateway.ts'
import { round, startTunnel } from './pgbench.ts'

const CLIENTS = 4
const SECONDS = 10
const ROWS = 10_000

export type MaskedReadResult = {
  clients: number
  seconds: number
  rows: number
  unmaskedTps: number
  maskedTps: number
  /** masked ÷ unmasked, both through the gateway. */
  ratio: number
}

const SEED = `
CREATE TABLE bench_customers AS
SELECT g AS id,
  'user' || g || '@example.com' AS email,
  '4111111111111111' AS card,
  CASE WHEN g % 50 = 0 THEN 'rotated key AKIAIOSFODNN7EXAMPLE on 2026-01-02'
       ELSE 'order ORD-2024-' || lpad(g::text, 6, '0') || ' shipped to warehouse ' || (g % 17) END AS notes
FROM generate_series(1, ${ROWS}) AS g;
ALTER TABLE bench_customers ADD PRIMARY KEY (id);
`

const SCRIPT = `\\set id random(1, ${ROWS})
SELECT id, email, card, notes FROM bench_customers WHERE id = :id;
`

export async function benchMaskedRead(
  gateway: BenchGateway,
  log: (line: string) => void
): Promise<MaskedReadResult> {
  const postgres = await startPostgres()
  const tunnels: ChildProcess[] = []
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-masked-read-'))
  try {
    postgres.sql(`SET ROLE ${PG_ROLES.scram.user};${SEED}`)
    const script = join(dir, 'read.sql')
    await writeFile(script, SCRIPT)
    for (const name of ['masked-read', 'plain-read']) {
      await gateway.admin.json('PUT', `/v1/admin/connections/${name}`, {
        json: {
          kind: 'postgres',
          target: { host: '127.0.0.1', port: postgres.port, database: 'app', tls: 'disable' },
          credential: {
            type: 'password',
            username: PG_ROLES.scram.user,
            password: PG_ROLES.scram.password,
          },
        },
      })
    }
    const grant = { grants: ['agent:bench-mask'], default: 'allow' }
    await gateway.admin.json('PUT', '/v1/admin/policy', {
      json: {
        version: 1,
        connections: {
          'plain-read': grant,
          'masked-read': {
            ...grant,
            masking: {
              columns: { 'bench_customers.email': 'token', 'bench_customers.card': 'partial' },
              detectors: { all: 'redact' },
            },
          },
        },
      },
    })
    const { token } = await gateway.admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
      json: { name: 'bench-mask', connections: ['masked-read', 'plain-read'] },
    })
    const env = { ...process.env, PGPASSWORD: 'unused' }
    const run = async (connection: string) => {
      const port = await freePort()
      tunnels.push(await startTunnel(gateway.url, token, port, connection))
      const { stdout } = await promisify(execFile)(
        'pgbench',
        ['-n', '-f', script, '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)].concat([
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'agent',
          'app',
        ]),
        { env, maxBuffer: 16 * 1024 * 1024 }
      )
      const failed = /number of failed transactions: (\d+)/.exec(stdout)?.[1]
      if (failed && failed !== '0') throw new Error(`pgbench on ${connection}: ${failed} failed`)
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]
      if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`)
      return Number(tps)
    }
    const unmaskedTps = await run('plain-read')
    const maskedTps = await run('masked-read')
    log(`masked read: unmasked ${unmaskedTps.toFixed(0)} tps, masked ${maskedTps.toFixed(0)} tps`)
    return {
      clients: CLIENTS,
      seconds: SECONDS,
      rows: ROWS,
      unmaskedTps: round(unmaskedTps),
      maskedTps: round(maskedTps),
      ratio: round(maskedTps / unmaskedTps),
    }
  } finally {
    for (const tunnel of tunnels) tunnel.kill('SIGTERM')
    await postgres.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
