/** Runs the `gatehouse` CLI as a user would: a Node process, exit code, stdout and stderr. */
import { execFile } from 'node:child_process'
import { inject } from 'vitest'
import { CLI_PATH, REPO_ROOT, withoutGatehouseEnv } from '../../harness/dev-stack.ts'

export type CliResult = { code: number; stdout: string; stderr: string }

export type CliOptions = {
  /** GATEHOUSE_TOKEN; defaults to the admin token, `null` for none. */
  token?: string | null
  /** GATEHOUSE_URL; defaults to the running dev gateway. */
  gateway?: string
  env?: Record<string, string>
}

export function gatehouse(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = withoutGatehouseEnv()
  env.GATEHOUSE_URL = options.gateway ?? inject('gatewayUrl')
  const token = options.token === undefined ? inject('adminToken') : options.token
  if (token !== null) env.GATEHOUSE_TOKEN = token
  Object.assign(env, options.env)
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_PATH, ...args],
      { cwd: REPO_ROOT, env, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      }
    )
  })
}

/** Runs the CLI with `--json` and parses stdout; fails loudly when the command failed. */
export async function gatehouseJson<T>(args: string[], options: CliOptions = {}): Promise<T> {
  const result = await gatehouse(['--json', ...args], options)
  if (result.code !== 0) {
    throw new Error(`gatehouse ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  }
  return JSON.parse(result.stdout) as T
}
