#!/usr/bin/env node
/**
 * `gatehouse`: the admin's command line for a Gatehouse gateway (tokens, policy as code,
 * connections, session recordings) and `gatehouse dev`, the local stack `npm start` runs.
 *
 * Exit codes: 0 done, 1 the gateway refused or could not be reached, 2 usage mistakes.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { registerApprovalCommands } from './commands/approvals.ts'
import { registerConnectCommand } from './commands/connect.ts'
import { registerConnectionCommands } from './commands/connection.ts'
import { registerContainmentCommands } from './commands/containment.ts'
import { registerDevCommand } from './commands/dev.ts'
import { registerPolicyCommands } from './commands/policy.ts'
import { registerSessionCommands } from './commands/sessions.ts'
import { registerTokenCommands } from './commands/token.ts'
import { registerVerifyCommand } from './commands/verify.ts'
import { registerWhoamiCommand } from './commands/whoami.ts'
import { DEFAULT_GATEWAY_URL } from './context.ts'
import { reportFailure } from './output.ts'

const USAGE_EXIT_CODE = 2

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8')
) as { version: string }

// Only as the first argument: commander would otherwise take `--version` from anywhere on the
// line, and `policy get --version N` needs it.
if (process.argv[2] === '--version' || process.argv[2] === '-V') {
  process.stdout.write(`${version}\n`)
  process.exit(0)
}

const program = new Command('gatehouse')
  .description(
    `Manage a Gatehouse gateway: agent tokens, policy, connections and recordings (v${version}).`
  )
  .addOption(
    new Option('--gateway <url>', 'gateway base URL')
      .env('GATEHOUSE_URL')
      .default(DEFAULT_GATEWAY_URL)
  )
  .addOption(
    new Option(
      '--token <token>',
      'admin token, agent token or OIDC JWT (prefer the env var: command lines are visible to other users)'
    ).env('GATEHOUSE_TOKEN')
  )
  .option('--json', 'print machine-readable JSON instead of tables')
  .showHelpAfterError('(add --help for usage)')
  // Settings above are inherited by every subcommand registered below.
  .exitOverride()

registerTokenCommands(program)
registerPolicyCommands(program)
registerConnectionCommands(program)
registerSessionCommands(program)
registerVerifyCommand(program)
registerApprovalCommands(program)
registerContainmentCommands(program)
registerWhoamiCommand(program)
registerConnectCommand(program)
registerDevCommand(program)

try {
  await program.parseAsync(process.argv)
} catch (error) {
  process.exitCode =
    error instanceof CommanderError
      ? error.exitCode === 0
        ? 0
        : USAGE_EXIT_CODE
      : reportFailure(error)
}
