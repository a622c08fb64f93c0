/**
 * SSH through the gateway against the same sshd directly, in one run: the exec API's round
 * trip (`true`) beside `ssh host true` (a fresh login each time on both sides), and how
 * fast 100 MB of output comes back, through the exec API (NDJSON) and through the tunnel
 * with the real ssh client, beside plain ssh. The sshd is the tests' private one
 * (test/harness/sshd-server.ts); without root it cannot start, and the section is skipped
 * with the reason.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GatewayError } from '../cli/client.ts'
import { CLI_PATH, withoutGatehouseEnv } from '../test/harness/dev-stack.ts'
import { freePort } from '../test/harness/free-port.ts'
import { type SshdServer, startSshd } from '../test/harness/sshd-server.ts'
import type { BenchGateway } from './bench-gateway.ts'
import { summarize } from './stats.ts'

const CONNECTION = 'bench-box'
const AGENT = 'bench-ssh'
/** Round trips per series. */
const SAMPLES = 50
const WARMUP = 3
const PAYLOAD_BYTES = 100_000_000
/** The brief's payload (NUL bytes: JSON-escaped six to one on the wire) and printable text. */
const PAYLOADS = {
  zeros: `head -c ${PAYLOAD_BYTES} /dev/zero`,
  text: `yes 'gatehouse bench: a line of ordinary command output' | head -c ${PAYLOAD_BYTES}`,
} as const
/**
 * The key exchange the gateway speaks to origins. OpenSSH 9.x clients prefer the heavier
 * post-quantum hybrid (sntrup761x25519), so ssh is also timed with this one, like for like.
 */
const GATEWAY_KEX = 'curve25519-sha256'
/** Bounds every request and process, so the bench ends by itself whatever happens. */
const CALL_TIMEOUT_MS = 30_000
const STREAM_TIMEOUT_MS = 300_000

type Millis = { p50: number; p99: number; mean: number }

export type SshThroughput = {
  command: string
  /** Payload bytes received (decoded from NDJSON for the gateway). */
  bytes: number
  directMBps: number
  gatewayMBps: number
  /** NDJSON bytes the gateway sent for the payload (JSON escaping included). */
  gatewayWireBytes: number
  ratio: number
  /** The real ssh client through `gatehouse connect` (raw channel bytes, no JSON). */
  tunnelMBps: number
  tunnelRatio: number
}

export type SshBenchResult =
  | {
      skipped: false
      samples: number
      roundTripMillis: {
        /** `ssh host true` as the client is configured by default. */
        direct: Millis
        /** The same with the gateway's key exchange (GATEWAY_KEX). */
        directSameKex: Millis
        /** The first SAMPLES exec calls right after the connection was registered. */
        gateway: Millis
        /** SAMPLES more once the gateway has served WARMUP + SAMPLES calls. */
        gatewayWarm: Millis
      }
      /** gateway p50 / direct p50: cold series, warm series, warm against the same key exchange. */
      roundTripRatioP50: number
      warmRoundTripRatioP50: number
      warmRoundTripRatioP50SameKex: number
      throughput: SshThroughput[]
    }
  | { skipped: true; reason: string }

export async function benchSsh(
  gateway: BenchGateway,
  log: (line: string) => void
): Promise<SshBenchResult> {
  let sshd: SshdServer
  try {
    sshd = await startSshd({ logName: 'sshd-bench' })
  } catch (error) {
    const reason = `the test sshd could not start: ${(error as Error).message.split('\n')[0]}`
    log(`ssh: skipped (${reason})`)
    return { skipped: true, reason }
  }
  try {
    const token = await register(gateway, sshd)
    log(`ssh: sshd on :${sshd.port}, connection ${CONNECTION}`)
    const exec = (command: string) => execOnce(gateway.url, token, command)
    const direct = (options: string[]) => async () => {
      const result = await sshd.ssh('true', { timeoutMs: CALL_TIMEOUT_MS, options })
      if (result.exitCode !== 0) throw new Error(`direct ssh true: ${result.stderr}`)
    }

    const cold = await timeSeries(() => exec('true'), SAMPLES, 0)
    const warm = await timeSeries(() => exec('true'), SAMPLES, WARMUP)
    const directMillis = await timeSeries(direct([]), SAMPLES, WARMUP)
    const sameKex = await timeSeries(
      direct(['-o', `KexAlgorithms=${GATEWAY_KEX}`]),
      SAMPLES,
      WARMUP
    )
    log(
      `ssh exec true: p50 direct ${directMillis.p50} ms (${GATEWAY_KEX}: ${sameKex.p50} ms), gateway ${cold.p50} ms (warm ${warm.p50} ms)`
    )

    const throughput: SshThroughput[] = []
    const tunnel = await openTunnel(gateway.url, token)
    try {
      for (const command of Object.values(PAYLOADS)) {
        const directRun = await directStream(sshd, command)
        const gatewayRun = await execStream(gateway.url, token, command)
        const tunnelRun = await tunnel.stream(command)
        if (
          directRun.bytes !== PAYLOAD_BYTES ||
          gatewayRun.bytes !== PAYLOAD_BYTES ||
          tunnelRun.bytes !== PAYLOAD_BYTES
        ) {
          throw new Error(
            `${command}: expected ${PAYLOAD_BYTES} bytes, got ${directRun.bytes} direct, ${gatewayRun.bytes} through the exec API and ${tunnelRun.bytes} through the tunnel`
          )
        }
        const run = {
          command,
          bytes: PAYLOAD_BYTES,
          directMBps: mbPerSecond(PAYLOAD_BYTES, directRun.millis),
          gatewayMBps: mbPerSecond(PAYLOAD_BYTES, gatewayRun.millis),
          gatewayWireBytes: gatewayRun.wireBytes,
          ratio: round(directRun.millis / gatewayRun.millis),
          tunnelMBps: mbPerSecond(PAYLOAD_BYTES, tunnelRun.millis),
          tunnelRatio: round(directRun.millis / tunnelRun.millis),
        }
        log(
          `ssh ${command}: direct ${run.directMBps} MB/s, exec API ${run.gatewayMBps} MB/s, tunnel ${run.tunnelMBps} MB/s`
        )
        throughput.push(run)
      }
    } finally {
      tunnel.stop()
    }

    return {
      skipped: false,
      samples: SAMPLES,
      roundTripMillis: {
        direct: directMillis,
        directSameKex: sameKex,
        gateway: cold,
        gatewayWarm: warm,
      },
      roundTripRatioP50: round(cold.p50 / directMillis.p50),
      warmRoundTripRatioP50: round(warm.p50 / directMillis.p50),
      warmRoundTripRatioP50SameKex: round(warm.p50 / sameKex.p50),
      throughput,
    }
  } finally {
    await sshd.stop()
  }
}

/** The connection (key login, ed25519 host key pinned), a policy that allows it, a token. */
async function register(gateway: BenchGateway, sshd: SshdServer): Promise<string> {
  await gateway.admin.json('PUT', `/v1/admin/connections/${CONNECTION}`, {
    json: {
      kind: 'ssh',
      target: {
        host: sshd.host,
        port: sshd.port,
        hostKey: sshd.hostKeys.ed25519,
        execTimeoutSeconds: STREAM_TIMEOUT_MS / 1000,
      },
      credential: { type: 'key', username: sshd.user, privateKey: sshd.clientPrivateKey },
    },
  })
  // Merged into the policy in force, so the other benches' connections keep theirs.
  type Current = { document: { connections?: Record<string, unknown> } }
  const current = await gateway.admin
    .json<Current>('GET', '/v1/admin/policy')
    .catch((error: unknown): Current => {
      if (error instanceof GatewayError && error.status === 404) return { document: {} }
      throw error
    })
  await gateway.admin.json('PUT', '/v1/admin/policy', {
    json: {
      ...current.document,
      version: 1,
      connections: {
        ...current.document.connections,
        [CONNECTION]: {
          grants: [`agent:${AGENT}`],
          rules: [{ name: 'anything', action: 'allow' }],
        },
      },
    },
  })
  const { token } = await gateway.admin.json<{ token: string }>('POST', '/v1/admin/tokens', {
    json: { name: AGENT, connections: [CONNECTION] },
  })
  return token
}

/** One exec API call, answered as JSON; throws unless the command exited 0. */
async function execOnce(url: string, token: string, command: string): Promise<void> {
  const response = await fetch(`${url}/v1/connections/${CONNECTION}/exec`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ command }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  })
  const text = await response.text()
  const body = JSON.parse(text) as { exitCode?: number }
  if (response.status !== 200 || body.exitCode !== 0) {
    throw new Error(`exec ${command}: ${response.status} ${text.slice(0, 500)}`)
  }
}

/** The exec API streaming NDJSON: payload bytes decoded from the stdout lines, and the time. */
async function execStream(
  url: string,
  token: string,
  command: string
): Promise<{ bytes: number; wireBytes: number; millis: number }> {
  const started = performance.now()
  const response = await fetch(`${url}/v1/connections/${CONNECTION}/exec`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/x-ndjson',
    },
    body: JSON.stringify({ command, timeoutSeconds: STREAM_TIMEOUT_MS / 1000 }),
    signal: AbortSignal.timeout(STREAM_TIMEOUT_MS),
  })
  if (response.status !== 200 || !response.body) {
    throw new Error(`exec ${command}: ${response.status} ${(await response.text()).slice(0, 500)}`)
  }
  let bytes = 0
  let wireBytes = 0
  let exit: { exitCode?: number | null } | undefined
  let pending = ''
  const decoder = new TextDecoder()
  const take = (line: string) => {
    if (!line) return
    const value = JSON.parse(line) as {
      stdout?: string
      stderr?: string
      exit?: { exitCode?: number | null }
      error?: { code: string; message: string }
    }
    // stdout is text: count its UTF-8 bytes (one per byte for NUL and ASCII payloads).
    if (value.stdout !== undefined) bytes += Buffer.byteLength(value.stdout, 'utf8')
    if (value.error) throw new Error(`exec ${command}: ${value.error.code}: ${value.error.message}`)
    if (value.exit) exit = value.exit
  }
  for await (const chunk of response.body) {
    wireBytes += chunk.length
    const lines = (pending + decoder.decode(chunk, { stream: true })).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) take(line)
  }
  take(pending + decoder.decode())
  const millis = performance.now() - started
  if (exit?.exitCode !== 0) throw new Error(`exec ${command} ended ${JSON.stringify(exit)}`)
  return { bytes, wireBytes, millis }
}

/** The real ssh client against the sshd: stdout bytes counted as they arrive, and the time. */
function directStream(
  sshd: SshdServer,
  command: string
): Promise<{ bytes: number; millis: number }> {
  return countStdout('ssh', sshd.sshArgs(command), `direct ssh ${command}`)
}

/** Runs a client, counting its stdout bytes as they arrive, and the time it took. */
function countStdout(
  binary: string,
  args: string[],
  what: string
): Promise<{ bytes: number; millis: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let bytes = 0
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), STREAM_TIMEOUT_MS)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`${what} exited ${code}: ${stderr}`))
      else resolve({ bytes, millis: performance.now() - started })
    })
  })
}

/**
 * `gatehouse connect` for the bench connection, and the real ssh client through it with
 * the gateway's published host key pinned: what an agent's OpenSSH sees.
 */
async function openTunnel(url: string, token: string) {
  const port = await freePort()
  const env = withoutGatehouseEnv()
  env.GATEHOUSE_URL = url
  env.GATEHOUSE_TOKEN = token
  const child = spawn(process.execPath, [CLI_PATH, 'connect', CONNECTION, '--port', `${port}`], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    let printed = ''
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8')
      if (printed.includes('listening on')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`gatehouse connect exited ${code}: ${printed}`)))
  })
  const published = (await (await fetch(`${url}/.well-known/gatehouse/ssh-host-key`)).json()) as {
    key: string
  }
  const knownHosts = join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-')), 'known_hosts')
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${published.key}\n`)
  const args = (command: string) => [
    '-p',
    `${port}`,
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    'agent@127.0.0.1',
    command,
  ]
  return {
    stream: (command: string) => countStdout('ssh', args(command), `tunnel ssh ${command}`),
    stop: () => child.kill('SIGINT'),
  }
}

/** Wall-clock milliseconds of `samples` sequential calls after `warmup` untimed ones. */
async function timeSeries(
  once: () => Promise<void>,
  samples: number,
  warmup: number
): Promise<Millis> {
  for (let i = 0; i < warmup; i++) await once()
  const millis: number[] = []
  for (let i = 0; i < samples; i++) {
    const started = performance.now()
    await once()
    millis.push(performance.now() - started)
  }
  const { p50, p99, mean } = summarize(millis)
  return { p50: round(p50), p99: round(p99), mean: round(mean) }
}

function mbPerSecond(bytes: number, millis: number): number {
  return round(bytes / 1e6 / (millis / 1000))
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
