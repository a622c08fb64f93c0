/**
 * Starts `gatehouse dev` the way a person does (`node cli/gatehouse.ts dev`), waits for
 * its banner and reads what it printed: the gateway URL, the admin export line, the
 * agent token and the quick-start curl lines. Used by the e2e global setup and by the
 * tests that restart the stack.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { distinctFreePorts } from './free-port.ts'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const CLI_PATH = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url))
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url))

/** A cold start bundles the Worker and boots workerd twice (migrations, then dev). */
const BANNER_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 20_000
const BANNER_END = 'Press Ctrl+C to stop.'

export type DevBanner = {
  gatewayUrl: string
  originUrl: string
  adminToken: string
  agentToken: string
  /** agent:demo-approver's token (GATEHOUSE_APPROVER_TOKEN): may decide the demo agent's payments. */
  approverToken: string
  /** The curl lines, as printed: allowed GET, blocked DELETE, approval-needing POST. */
  curls: string[]
  text: string
}

export type DevStack = DevBanner & {
  port: number
  originPort: number
  /** Sends SIGTERM and resolves with the exit code once everything stopped. */
  stop: () => Promise<number | null>
  /** Everything the process wrote to stderr so far. */
  stderr: () => string
}

/** Two distinct loopback ports that are free right now. */
export function freePorts(): Promise<[number, number]> {
  return distinctFreePorts()
}

/** Starts `gatehouse dev` on free ports with `state`; its output is logged to test/.artifacts/<logName>.log. */
export async function startDevStack(state: string, logName: string): Promise<DevStack> {
  const [port, originPort] = await freePorts()
  mkdirSync(ARTIFACTS, { recursive: true })
  const logFile = `${ARTIFACTS}${logName}.log`
  writeFileSync(logFile, '')
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'dev', '--port', `${port}`, '--origin-port', `${originPort}`, '--state', state],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: withoutGatehouseEnv() }
  )
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    appendFileSync(logFile, chunk)
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
    appendFileSync(logFile, chunk)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))

  const ended = () => child.exitCode !== null || child.signalCode !== null
  const ready = await waitFor(() => stdout.includes(BANNER_END) || ended(), BANNER_TIMEOUT_MS).then(
    () => (ended() ? `exited with ${child.exitCode ?? child.signalCode}` : 'ready'),
    () => `no banner within ${BANNER_TIMEOUT_MS / 1000} s`
  )
  if (ready !== 'ready') {
    await stop(child, exited)
    throw new Error(
      `gatehouse dev did not print its banner (${ready}). Log: ${logFile}\n${stderr.slice(-4000)}`
    )
  }
  return {
    ...parseBanner(stdout),
    port,
    originPort,
    stop: () => stop(child, exited),
    stderr: () => stderr,
  }
}

/** Reads the facts a person would copy out of the banner. */
export function parseBanner(text: string): DevBanner {
  const field = (pattern: RegExp, what: string) => {
    const value = pattern.exec(text)?.[1]
    if (!value) throw new Error(`the banner has no ${what}:\n${text}`)
    return value
  }
  return {
    gatewayUrl: field(/^ {2}Gateway: +(\S+)$/m, 'gateway URL'),
    originUrl: field(/^ {2}Demo origin: +(\S+)/m, 'demo origin URL'),
    adminToken: field(/^ +export GATEHOUSE_URL=\S+ GATEHOUSE_TOKEN=(\S+)$/m, 'admin token'),
    agentToken: field(/^GATEHOUSE_AGENT_TOKEN=(\S+)$/m, 'agent token'),
    approverToken: field(/^GATEHOUSE_APPROVER_TOKEN=(\S+)$/m, 'approver token'),
    curls: text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('curl ')),
    text,
  }
}

/** The environment minus the CLI's own variables, so a developer's shell cannot leak in. */
export function withoutGatehouseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.GATEHOUSE_URL
  delete env.GATEHOUSE_TOKEN
  return env
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  const code = await exited
  clearTimeout(timer)
  return code
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
