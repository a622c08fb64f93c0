/**
 * The real OpenSSH client through `gatehouse connect`: commands, a refusal, an
 * interactive session on a remote pty (its recording checked by `gatehouse verify`), the
 * gateway's host key pinned in known_hosts, and file transfer refused. The sshd is the private one of the e2e setup (`box`).
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { wranglerEntry } from '../../cli/dev/wrangler.ts'
import { REPO_ROOT } from '../harness/dev-stack.ts'
import { gatehouse } from './support/cli.ts'
import { asAdmin, eventually } from './support/gateway.ts'
import { startTunnel, type Tunnel } from './support/postgres.ts'
import { SSH_CONNECTION } from './support/ssh-connections.ts'

let tunnel: Tunnel
let knownHosts: string

type Run = { code: number | null; stdout: string; stderr: string }

/** Runs the system `ssh` against the tunnel, pinning the gateway's published host key. */
function ssh(args: string[], input?: string, binary = 'ssh'): Promise<Run> {
  const portFlag = binary === 'ssh' ? '-p' : '-P'
  const child = spawn(
    binary,
    [
      portFlag,
      `${tunnel.port}`,
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      ...args,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] }
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  if (input !== undefined) child.stdin.end(input)
  else child.stdin.end()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `keyExchanges` of the latest closed SSH sessions on `box`, from their transcripts. */
async function recentKeyExchangeCounts(): Promise<number[]> {
  const listed = (await (
    await asAdmin(`/v1/admin/sessions?protocol=ssh&connection=${SSH_CONNECTION}&limit=5`)
  ).json()) as { sessions: { id: string; status: string }[] }
  const counts: number[] = []
  for (const session of listed.sessions.filter((row) => row.status === 'closed')) {
    const text = await (await asAdmin(`/v1/admin/sessions/${session.id}/transcript`)).text()
    const end = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; data: { keyExchanges?: number } })
      .find((event) => event.type === 'session.end')
    if (end?.data.keyExchanges !== undefined) counts.push(end.data.keyExchanges)
  }
  return counts
}

type StoredPart = { key: string; terminal: number; part: number }

/** The newest closed SSH session on `box` with a recorded terminal, and its parts. */
async function latestClosedTerminalSession(): Promise<{ id: string; parts: StoredPart[] }> {
  const listed = (await (
    await asAdmin(`/v1/admin/sessions?protocol=ssh&connection=${SSH_CONNECTION}&limit=5`)
  ).json()) as { sessions: { id: string; status: string }[] }
  for (const session of listed.sessions) {
    const { parts } = (await (
      await asAdmin(`/v1/admin/sessions/${session.id}/terminal-parts`)
    ).json()) as { parts: StoredPart[] }
    if (parts.length === 0) continue
    if (session.status !== 'closed') throw new Error(`session ${session.id} is still open`)
    return { id: session.id, parts }
  }
  throw new Error('no SSH session with a terminal recording yet')
}

beforeAll(async () => {
  tunnel = await startTunnel(SSH_CONNECTION, inject('sshAgentToken'))
  const published = (await (
    await fetch(`${inject('gatewayUrl')}/.well-known/gatehouse/ssh-host-key`)
  ).json()) as { key: string }
  knownHosts = join(mkdtempSync(join(tmpdir(), 'gatehouse-known-')), 'known_hosts')
  writeFileSync(knownHosts, `[127.0.0.1]:${tunnel.port} ${published.key}\n`)
})

afterAll(async () => {
  await tunnel?.stop()
})

describe('OpenSSH through gatehouse connect', () => {
  it('runs a command on the host and returns its output and exit status', async () => {
    const result = await ssh([
      'agent@127.0.0.1',
      'echo hello from $(whoami); echo oops >&2; exit 3',
    ])
    expect(result).toEqual({
      code: 3,
      stdout: `hello from ${inject('sshd').user}\n`,
      stderr: 'oops\n',
    })
  })

  it('refuses a blocked command: exit 126, the reason on stderr, nothing run', async () => {
    const marker = join(inject('sshd').markerDir, `e2e-blocked-${Date.now()}`)
    const result = await ssh(['agent@127.0.0.1', `touch ${marker}; rm -rf /`])
    expect(result.code).toBe(126)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      'gatehouse: policy.blocked: Command 2 of 2: Agents may not delete the root file system.\r\n'
    )
    expect(existsSync(marker)).toBe(false)
  })

  it('carries data both ways across key re-exchanges the client starts', async () => {
    // RekeyLimit=1M makes OpenSSH re-key the gateway every megabyte of traffic.
    const payload = 'x'.repeat(4 * 1024 * 1024)
    const result = await ssh(
      ['-o', 'RekeyLimit=1M', 'agent@127.0.0.1', 'wc -c; head -c 3000000 /dev/zero | wc -c >&2'],
      payload
    )
    expect(result).toEqual({ code: 0, stdout: `${payload.length}\n`, stderr: '3000000\n' })
    // The gateway's record of the session counts the exchanges it went through.
    const exchanges = await eventually(async () => {
      const counts = await recentKeyExchangeCounts()
      const most = Math.max(0, ...counts)
      if (most < 3) throw new Error(`key exchanges seen: ${counts.join(', ')}`)
      return most
    })
    expect(exchanges).toBeGreaterThanOrEqual(3)
  })

  it('drives an interactive shell on a remote pty', async () => {
    const result = await ssh(
      ['-tt', 'agent@127.0.0.1'],
      'echo interactive-$((6*7))\nstty size\nexit 4\n'
    )
    expect(result.stdout).toContain('interactive-42')
    expect(result.code).toBe(4)
  })

  it('gatehouse verify hashes the recorded terminal part by part, and names a part altered in R2', async () => {
    const result = await ssh(['-tt', 'agent@127.0.0.1'], 'echo verified-$((6*7))\nexit 0\n')
    expect(result.stdout).toContain('verified-42')
    const { id, parts } = await eventually(latestClosedTerminalSession)
    expect(parts.length).toBeGreaterThan(0)

    const intact = await gatehouse(['verify', id])
    expect(intact.code, intact.stderr).toBe(0)
    expect(intact.stdout).toContain(`Session ${id}: intact.`)
    expect(intact.stdout).toContain(
      `Terminal recordings: all ${parts.length} part${parts.length === 1 ? '' : 's'} match the digests in the transcript.`
    )
    // A downloaded export holds the transcript only: the parts it names are not vouched for.
    const exported = join(mkdtempSync(join(tmpdir(), 'gatehouse-export-')), 'export.ndjson')
    writeFileSync(exported, await (await asAdmin(`/v1/admin/sessions/${id}/export`)).text())
    const offline = await gatehouse(['verify', id, '--file', exported])
    expect(offline.code).toBe(0)
    expect(offline.stdout).toContain('named by the transcript, not checked')

    // Someone with write access to the bucket rewrites what the terminal showed.
    const [first] = parts
    const forged = join(mkdtempSync(join(tmpdir(), 'gatehouse-forged-')), 'part.cast')
    writeFileSync(forged, '[0.1, "o", "nothing to see here\\r\\n"]\n')
    await promisify(execFile)(
      process.execPath,
      [
        wranglerEntry(),
        'r2',
        'object',
        'put',
        `gatehouse-sessions/${first?.key}`,
        '--file',
        forged,
        '--local',
        '--persist-to',
        join(inject('devStateDir'), 'wrangler'),
      ],
      { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } }
    )
    const tampered = await gatehouse(['verify', id])
    expect(tampered.code).toBe(1)
    expect(tampered.stdout).toContain(`Session ${id}: intact.`)
    expect(tampered.stdout).toContain('Terminal recordings: TAMPERED')
    expect(tampered.stdout).toContain(`terminal ${first?.terminal} part ${first?.part} was altered`)
  })

  it('refuses a host key other than the gateway one', async () => {
    const wrong = join(mkdtempSync(join(tmpdir(), 'gatehouse-known-')), 'known_hosts')
    writeFileSync(wrong, `[127.0.0.1]:${tunnel.port} ${inject('sshd').wrongHostKey}\n`)
    const child = await new Promise<Run>((resolve) => {
      const process = spawn('ssh', [
        '-p',
        `${tunnel.port}`,
        '-o',
        `UserKnownHostsFile=${wrong}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        'agent@127.0.0.1',
        'true',
      ])
      let stderr = ''
      process.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8')
      })
      process.on('close', (code) => resolve({ code, stdout: '', stderr }))
    })
    expect(child.code).toBe(255)
    expect(child.stderr).toMatch(
      /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/
    )
  })

  it('refuses sftp: file transfer would bypass the command policy', async () => {
    const result = await ssh(['-b', '-', 'agent@127.0.0.1'], 'ls\n', 'sftp')
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('subsystem is not available through Gatehouse')
  })
})
