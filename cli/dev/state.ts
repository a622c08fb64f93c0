/**
 * The dev stack's state directory. On first run it gets random secrets, written once with
 * mode 0600 and reused afterwards, so local data sealed with CREDENTIALS_KEY stays
 * readable and the admin token printed yesterday still works today:
 *
 *   <state>/dev.env          ADMIN_TOKEN, CREDENTIALS_KEY: the Worker's secrets (wrangler --env-file)
 *   <state>/demo-origin.env  DEMO_ORIGIN_TOKEN: the demo origin's own secret, never given to the Worker
 *   <state>/wrangler/        local D1 and R2 (wrangler --persist-to)
 *   <state>/dev.pid          the running `gatehouse dev`, so two cannot share one state
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError } from '../output.ts'

/** The Worker requires at least 32 characters (src/config.ts). */
const MIN_ADMIN_TOKEN_LENGTH = 32
const CREDENTIALS_KEY_BYTES = 32

export type DevState = {
  dir: string
  envFile: string
  persistDir: string
  adminToken: string
  demoOriginSecret: string
  /** True when this run created the secrets (a fresh state directory). */
  created: boolean
  /** Removes the pid file; call on the way out. */
  release: () => Promise<void>
}

/** Creates (first run) or reads the state directory and claims it for this process. */
export async function openDevState(dir: string): Promise<DevState> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await claim(join(dir, 'dev.pid'))

  const envFile = join(dir, 'dev.env')
  const createdWorkerEnv = await createOnce(
    envFile,
    '# Secrets of the local Gatehouse Worker, made by `gatehouse dev`. Keep this file private.\n' +
      `ADMIN_TOKEN=${randomBytes(32).toString('base64url')}\n` +
      `CREDENTIALS_KEY=${randomBytes(CREDENTIALS_KEY_BYTES).toString('base64')}\n`
  )
  const originFile = join(dir, 'demo-origin.env')
  await createOnce(
    originFile,
    "# The demo origin's own secret. Only the gateway (sealed in D1) and this file hold it.\n" +
      `DEMO_ORIGIN_TOKEN=${randomBytes(32).toString('base64url')}\n`
  )

  const workerEnv = parseEnvFile(await readFile(envFile, 'utf8'))
  const adminToken = workerEnv.ADMIN_TOKEN ?? ''
  if (adminToken.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(adminToken)) {
    throw brokenState(
      envFile,
      `ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces`
    )
  }
  if (Buffer.from(workerEnv.CREDENTIALS_KEY ?? '', 'base64').length !== CREDENTIALS_KEY_BYTES) {
    throw brokenState(envFile, 'CREDENTIALS_KEY must be 32 random bytes in base64')
  }
  const demoOriginSecret = parseEnvFile(await readFile(originFile, 'utf8')).DEMO_ORIGIN_TOKEN ?? ''
  if (!demoOriginSecret) throw brokenState(originFile, 'DEMO_ORIGIN_TOKEN is missing')

  return {
    dir,
    envFile,
    persistDir: join(dir, 'wrangler'),
    adminToken,
    demoOriginSecret,
    created: createdWorkerEnv,
    release: () => rm(join(dir, 'dev.pid'), { force: true }),
  }
}

/** Writes the file only if it does not exist yet; returns whether it did. */
async function createOnce(path: string, content: string): Promise<boolean> {
  try {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' })
    return true
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'EEXIST') return false
    throw error
  }
}

/** `KEY=value` lines; `#` comments and blank lines are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (match?.[1] && !line.trimStart().startsWith('#')) values[match[1]] = match[2] ?? ''
  }
  return values
}

/** Refuses to share a state directory with a running `gatehouse dev` (one D1/R2 on disk). */
async function claim(pidFile: string): Promise<void> {
  const previous = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
  if (
    Number.isSafeInteger(previous) &&
    previous > 0 &&
    previous !== process.pid &&
    isAlive(previous)
  ) {
    throw new CliError(
      'dev.state_busy',
      `Another gatehouse dev (pid ${previous}) is using ${pidFile.replace(/\/dev\.pid$/, '')}; stop it or pass another --state.`
    )
  }
  await writeFile(pidFile, `${process.pid}\n`, { mode: 0o600 })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return error instanceof Error && 'code' in error && error.code === 'EPERM'
  }
}

function brokenState(path: string, problem: string): CliError {
  return new CliError(
    'dev.state_invalid',
    `${path}: ${problem}. Fix it, or delete the file to have new secrets made (local data sealed with the old key becomes unreadable).`
  )
}
