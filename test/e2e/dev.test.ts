/**
 * `gatehouse dev` itself: it refuses to start over something already running, and a
 * restart on the same state keeps the secrets and the policy while replacing the demo
 * agent's token.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import {
  CLI_PATH,
  freePorts,
  REPO_ROOT,
  startDevStack,
  withoutGatehouseEnv,
} from '../harness/dev-stack.ts'
import { gatehouse } from './support/cli.ts'

type Exit = { code: number; stdout: string; stderr: string }

function dev(args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_PATH, 'dev', '--quiet', ...args],
      { cwd: REPO_ROOT, env: withoutGatehouseEnv(), timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : -1) : 0,
          stdout,
          stderr,
        })
    )
  })
}

describe('gatehouse dev', () => {
  it('exits 1 naming the port when the gateway port is busy, and starts nothing', async () => {
    const busy = Number(new URL(inject('gatewayUrl')).port)
    const [, originPort] = await freePorts()
    const state = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-busy-'))
    try {
      const result = await dev([
        '--port',
        `${busy}`,
        '--origin-port',
        `${originPort}`,
        '--state',
        state,
      ])
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: dev.port_busy: Port ${busy} on 127.0.0.1 (the gateway) is already in use. Stop whatever holds it, or pick another with --port <port>.\n`,
      })
    } finally {
      await rm(state, { recursive: true, force: true })
    }
  })

  it('exits 1 naming the port when the demo origin port is busy', async () => {
    const busy = Number(new URL(inject('demoOriginUrl')).port)
    const [port] = await freePorts()
    const result = await dev([
      '--port',
      `${port}`,
      '--origin-port',
      `${busy}`,
      '--state',
      join(tmpdir(), 'gatehouse-e2e-unused'),
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      `error: dev.port_busy: Port ${busy} on 127.0.0.1 (the demo origin) is already in use. Stop whatever holds it, or pick another with --origin-port <port>.\n`
    )
  })

  it('refuses a state directory another gatehouse dev is using', async () => {
    const [port, originPort] = await freePorts()
    const result = await dev([
      '--port',
      `${port}`,
      '--origin-port',
      `${originPort}`,
      '--state',
      inject('devStateDir'),
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^error: dev\.state_busy: Another gatehouse dev \(pid \d+\) is using \S+; stop it or pass another --state\.\n$/
    )
  })

  it('keeps its secrets 0600 and reuses them on restart; the policy stays, the old agent token is revoked', async () => {
    const state = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-restart-'))
    try {
      const first = await startDevStack(state, 'e2e-dev-restart-1')
      let firstExit: number | null
      try {
        expect(first.text).toContain(
          'Policy:       version 1, the demo policy (cli/dev/demo-policy.yaml), applied now'
        )
        const applied = await gatehouse(
          ['policy', 'apply', '-f', 'test/e2e/fixtures/policy-with-reports.yaml'],
          {
            gateway: first.gatewayUrl,
            token: first.adminToken,
          }
        )
        expect(applied.code).toBe(0)
      } finally {
        firstExit = await first.stop()
      }
      expect(firstExit).toBe(0)
      expect((await stat(join(state, 'dev.env'))).mode & 0o777).toBe(0o600)
      expect((await stat(join(state, 'demo-origin.env'))).mode & 0o777).toBe(0o600)

      const second = await startDevStack(state, 'e2e-dev-restart-2')
      try {
        expect(second.adminToken).toBe(first.adminToken)
        expect(second.agentToken).not.toBe(first.agentToken)
        expect(second.text).toContain('Policy:       version 2 is one you applied, so it was kept;')
        expect(second.text).toContain('The 1 token(s) earlier runs minted for it are revoked.')

        const old = await fetch(`${second.gatewayUrl}/proxy/demo/orders`, {
          headers: { authorization: `Bearer ${first.agentToken}` },
        })
        expect(old.status).toBe(401)
        expect(((await old.json()) as { error: { code: string } }).error.code).toBe(
          'auth.revoked_token'
        )

        const fresh = await fetch(`${second.gatewayUrl}/proxy/demo/orders`, {
          headers: { authorization: `Bearer ${second.agentToken}` },
        })
        expect(fresh.status).toBe(200)
      } finally {
        expect(await second.stop()).toBe(0)
      }
    } finally {
      await rm(state, { recursive: true, force: true })
    }
  }, 240_000)
})
