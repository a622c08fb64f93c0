/**
 * pgbench through `gatehouse connect benchdb` (a database of its own, with a policy that
 * allows anything): initialisation (DDL, COPY, VACUUM) and the select-only workload with
 * the simple and the prepared-statement protocol, two clients each, none failing.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  directSql,
  type ProcessResult,
  run,
  startTunnel,
  type Tunnel,
  tunnelConninfo,
} from './support/postgres.ts'
import { BENCH_CONNECTION, BENCH_DATABASE } from './support/postgres-connections.ts'

let tunnel: Tunnel
let initialised: ProcessResult

beforeAll(async () => {
  tunnel = await startTunnel(BENCH_CONNECTION, inject('postgresBenchToken'))
  initialised = await pgbench(['-i', '-s', '1'])
}, 120_000)

afterAll(async () => {
  await tunnel?.stop()
})

function pgbench(args: string[]): Promise<ProcessResult> {
  return run('pgbench', [...args, tunnelConninfo(tunnel.port, BENCH_DATABASE)])
}

/** The figures pgbench prints at the end of a run. */
function summary(stdout: string) {
  const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? Number.NaN)
  return {
    processed: number(/^number of transactions actually processed: (\d+)/m),
    failed: number(/^number of failed transactions: (\d+)/m),
    tps: number(/^tps = ([\d.]+) \(without initial connection time\)$/m),
  }
}

describe('pgbench through gatehouse connect', () => {
  it('pgbench -i -s 1 creates and fills its tables', async () => {
    expect(initialised.code).toBe(0)
    expect(initialised.stderr).toMatch(/^done in [\d.]+ s /m)
    expect(await directSql('SELECT count(*) FROM pgbench_accounts', BENCH_DATABASE)).toBe('100000')
    expect(await directSql('SELECT count(*) FROM pgbench_branches', BENCH_DATABASE)).toBe('1')
  })

  it('pgbench -S -c 2 -T 3 completes with no failed transactions and reports its TPS', async () => {
    const result = await pgbench(['-S', '-c', '2', '-T', '3'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('query mode: simple\n')
    const figures = summary(result.stdout)
    expect(figures.failed).toBe(0)
    expect(figures.processed).toBeGreaterThan(0)
    expect(figures.tps).toBeGreaterThan(0)
  })

  it('pgbench -S -M prepared -c 2 -T 3 completes with no failed transactions and reports its TPS', async () => {
    const result = await pgbench(['-S', '-M', 'prepared', '-c', '2', '-T', '3'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('query mode: prepared\n')
    const figures = summary(result.stdout)
    expect(figures.failed).toBe(0)
    expect(figures.processed).toBeGreaterThan(0)
    expect(figures.tps).toBeGreaterThan(0)
  })
})
