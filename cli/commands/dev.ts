/** `gatehouse dev`: the local gateway, a demo origin and a seeded demo (what `npm start` runs). */
import { resolve } from 'node:path'
import { type Command, InvalidArgumentError } from 'commander'
import { PROJECT_ROOT, runDev } from '../dev/run-dev.ts'

const DEFAULT_STATE_DIR = '.wrangler/gatehouse-dev'

/** Adds `dev`. */
export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(
      'run the gateway locally (wrangler dev) with a demo origin, policy and agent token'
    )
    .option('--port <port>', 'gateway port on 127.0.0.1', port, 8787)
    .option('--origin-port <port>', 'demo origin port on 127.0.0.1', port, 8788)
    .option(
      '--state <dir>',
      `where secrets, D1 and R2 live (default: ${DEFAULT_STATE_DIR} in the project)`
    )
    .option('--quiet', 'print only the banner and errors, not wrangler and origin logs')
    .action(
      async (options: { port: number; originPort: number; state?: string; quiet?: boolean }) => {
        await runDev({
          port: options.port,
          originPort: options.originPort,
          state: options.state ? resolve(options.state) : resolve(PROJECT_ROOT, DEFAULT_STATE_DIR),
          quiet: options.quiet === true,
        })
      }
    )
}

function port(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < 1 || number > 65_535) {
    throw new InvalidArgumentError('must be a port number, 1-65535.')
  }
  return number
}
