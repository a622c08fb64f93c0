/**
 * The global options every gateway command shares (`--gateway`, `--token`, `--json`),
 * resolved once per command into a client and an output mode.
 */
import type { Command } from 'commander'
import { GatehouseClient } from './client.ts'

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8787'

export type GlobalOptions = {
  gateway: string
  token?: string
  json?: boolean
}

export type CommandContext = {
  client: GatehouseClient
  /** `--json`: print the gateway's answer as JSON instead of tables. */
  json: boolean
}

/** The context for a command's action; pass the action's `Command` (its last argument). */
export function contextOf(command: Command): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>()
  return {
    client: new GatehouseClient({ gateway: options.gateway, token: options.token }),
    json: options.json === true,
  }
}
