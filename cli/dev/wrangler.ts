/**
 * Running wrangler for the dev stack: its JS entry resolved from node_modules and run
 * with this very Node (no shell, no PATH lookup), with the secrets coming only from the
 * state's env file, and the tail of its output kept to explain an early exit.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { CliError } from '../output.ts'

/** Lines of wrangler output kept to show when it fails. */
const TAIL_LINES = 30
/** How long wrangler gets to stop workerd before it is killed. */
const STOP_GRACE_MS = 10_000

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is exactly what this removes.
const ANSI_ESCAPE = /\u001b\[[0-9;]*[A-Za-z]/g

/** Worker secrets; see wrangler.toml `[secrets]`. */
const WORKER_SECRETS = ['ADMIN_TOKEN', 'CREDENTIALS_KEY']

export type WranglerOptions = {
  /** The project root (holds wrangler.toml). */
  root: string
  /** Another Worker's config instead of the project's (the benchmark's pass-through). */
  config?: string
  persistDir: string
  /** Every output line, as it arrives. */
  onLine?: (line: string) => void
}

export type DevServer = {
  /** Resolves when wrangler exits, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The last lines wrangler printed. */
  tail: () => string
  /** Asks wrangler to stop (it stops workerd), and kills it if it does not. */
  stop: (signal?: NodeJS.Signals) => Promise<void>
  /** Kills wrangler and what it started, at once (its process group when detached). */
  kill: () => void
}

/** wrangler's CLI module; `require.resolve` follows its package exports. */
export function wranglerEntry(): string {
  return createRequire(import.meta.url).resolve('wrangler')
}

/** Applies D1 migrations to the local database under `persistDir`. */
export async function applyMigrations(options: WranglerOptions): Promise<void> {
  const run = runWrangler(
    ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', options.persistDir],
    options
  )
  const { code, signal } = await run.exited
  if (code !== 0) {
    throw new CliError(
      'dev.migrations_failed',
      `wrangler d1 migrations apply exited with ${signal ?? code}. Its last output:\n${indent(run.tail())}`
    )
  }
}

/** Starts `wrangler dev` on 127.0.0.1:<port> with the state's secrets and storage. */
export function startWranglerDev(
  options: WranglerOptions & {
    port: number
    envFile: string
    /** Two `wrangler dev` at once need distinct DevTools ports. */
    inspectorPort?: number
    extraArgs?: string[]
  }
): DevServer {
  return runWrangler(
    [
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--persist-to',
      options.persistDir,
      '--env-file',
      options.envFile,
      '--show-interactive-dev-session=false',
      ...(options.inspectorPort === undefined
        ? []
        : ['--inspector-port', String(options.inspectorPort)]),
      ...(options.extraArgs ?? []),
    ],
    options,
    // Its own process group: a Ctrl+C in the terminal reaches us, and we stop it in order.
    { detached: true }
  )
}

function runWrangler(
  args: string[],
  options: WranglerOptions,
  spawnOptions: { detached?: boolean } = {}
): DevServer {
  const child = spawn(
    process.execPath,
    [
      '--no-warnings',
      wranglerEntry(),
      ...args,
      '--config',
      options.config ?? join(options.root, 'wrangler.toml'),
    ],
    {
      cwd: options.root,
      env: wranglerEnvironment(options.root),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: spawnOptions.detached ?? false,
    }
  )
  const tail: string[] = []
  const keep = (line: string) => {
    // wrangler colours its output even into a pipe; keep colour only for a terminal.
    const plain = line.replace(ANSI_ESCAPE, '')
    tail.push(plain)
    if (tail.length > TAIL_LINES) tail.shift()
    options.onLine?.(process.stderr.isTTY ? line : plain)
  }
  // One splitter per stream, so a line is never spliced from both.
  child.stdout?.on('data', lineSplitter(keep))
  child.stderr?.on('data', lineSplitter(keep))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', (error) => {
      tail.push(String(error))
      resolve({ code: 1, signal: null })
    })
  })
  return {
    exited,
    tail: () => tail.join('\n'),
    stop: (signal = 'SIGTERM') => stopChild(child, exited, signal),
    kill: () => killChild(child),
  }
}

function killChild(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  try {
    // Our own child's process group: wrangler and the workerd it started.
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  signal: NodeJS.Signals
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)
  })
  const result = await Promise.race([exited, late])
  clearTimeout(timer)
  if (result === 'late') {
    killChild(child)
    await exited
  }
}

/**
 * The environment for wrangler. Because wrangler.toml declares `[secrets]`, wrangler
 * also reads secrets and vars from its own environment, and those win over --env-file;
 * drop them so the Worker gets exactly the state's secrets and wrangler.toml's vars.
 */
function wranglerEnvironment(root: string): NodeJS.ProcessEnv {
  const shadowing = new Set([...WORKER_SECRETS, ...workerVarNames(root)])
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!shadowing.has(name)) env[name] = value
  }
  // A local dev tool should not report usage unless the user opted in.
  env.WRANGLER_SEND_METRICS ??= 'false'
  return env
}

/** Names under `[vars]` in wrangler.toml (top-level section only; enough for this file). */
function workerVarNames(root: string): string[] {
  const names: string[] = []
  let inVars = false
  for (const line of readFileSync(join(root, 'wrangler.toml'), 'utf8').split('\n')) {
    const section = /^\s*\[+([^\]]+)\]+\s*$/.exec(line)
    if (section) {
      inVars = section[1]?.trim() === 'vars'
      continue
    }
    const key = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)
    if (inVars && key?.[1]) names.push(key[1])
  }
  return names
}

/** Calls `onLine` for each complete, non-blank line of a byte stream. */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let pending = ''
  return (chunk) => {
    pending += chunk.toString('utf8')
    const lines = pending.split(/\r?\n/)
    pending = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) onLine(line)
  }
}

/** Indents captured output under an error message. */
export function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n')
}

/** Polls `url` until it answers 2xx; throws with wrangler's last output if it exits or times out. */
export async function waitUntilServing(
  url: string,
  server: DevServer,
  timeoutMs: number
): Promise<void> {
  let exited = false
  void server.exited.then(() => {
    exited = true
  })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url)
      await response.body?.cancel()
      if (response.ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${url} did not become ready:\n${server.tail()}`)
}
