/** `gatehouse token create|list|revoke`: agent tokens. The secret is printed once, at creation. */
import type { Command } from 'commander'
import { contextOf } from '../context.ts'
import { formatTime, print, printJson, printTable, usageError } from '../output.ts'

/** An agent token as the admin API shows it (never the secret, never its hash). */
export type AgentTokenView = {
  id: string
  name: string
  owner: string
  description: string
  tokenHint: string
  connections: string[]
  createdBy: string
  createdAt: number
  expiresAt: number
  revokedAt: number | null
  lastUsedAt: number | null
  status: 'active' | 'expired' | 'revoked'
}

type CreateOptions = {
  name: string
  connections: string
  ttl?: string
  owner?: string
  description?: string
}

const TTL_UNITS_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `3600`, `3600s`, `90m`, `24h` or `7d` as seconds; the gateway enforces the bounds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim())
  const unit = TTL_UNITS_SECONDS[match?.[2] || 's']
  if (!match?.[1] || unit === undefined) {
    throw usageError(`--ttl must look like 3600s, 90m, 24h or 7d (got "${text}")`)
  }
  return Number(match[1]) * unit
}

/** `a,b , c` as `["a","b","c"]`. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}

/** Adds `token create|list|revoke`. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('mint, list and revoke agent tokens')

  token
    .command('create')
    .description('mint an agent token (the secret is shown once)')
    .requiredOption('--name <name>', 'agent name; policy refers to it as agent:<name>')
    .requiredOption('--connections <list>', 'comma-separated connection names, or "*"')
    .option('--ttl <duration>', 'lifetime: 3600s, 90m, 24h, 7d (gateway default: 24h)')
    .option('--owner <owner>', 'who is responsible for the agent (default: you)')
    .option('--description <text>', 'what the token is for')
    .action(async (options: CreateOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const connections = parseList(options.connections)
      if (connections.length === 0) throw usageError('--connections needs at least one name')
      const created = await client.json<AgentTokenView & { token: string }>(
        'POST',
        '/v1/admin/tokens',
        {
          json: {
            name: options.name,
            connections,
            ...(options.ttl ? { ttlSeconds: parseTtl(options.ttl) } : {}),
            ...(options.owner ? { owner: options.owner } : {}),
            ...(options.description ? { description: options.description } : {}),
          },
        }
      )
      if (json) return printJson(created)
      print(
        `Created token ${created.id} for agent:${created.name} ` +
          `(connections: ${created.connections.join(', ')}; expires ${formatTime(created.expiresAt)}).`
      )
      print()
      print('The token is shown only this once. Store it now:')
      print()
      print(`  ${created.token}`)
      print()
    })

  token
    .command('list')
    .description('list agent tokens (active and expired; --all adds revoked ones)')
    .option('--all', 'include revoked tokens')
    .option('--name <name>', 'only tokens of this agent')
    .action(async (options: { all?: boolean; name?: string }, command: Command) => {
      const { client, json } = contextOf(command)
      const { tokens } = await client.json<{ tokens: AgentTokenView[] }>(
        'GET',
        '/v1/admin/tokens',
        { query: { name: options.name, includeRevoked: options.all ? 'true' : undefined } }
      )
      if (json) return printJson({ tokens })
      if (tokens.length === 0) return print('No agent tokens.')
      printTable(tokens, [
        { header: 'ID', value: (row) => row.id },
        { header: 'AGENT', value: (row) => row.name },
        { header: 'STATUS', value: (row) => row.status },
        { header: 'CONNECTIONS', value: (row) => row.connections.join(',') },
        { header: 'EXPIRES', value: (row) => formatTime(row.expiresAt) },
        { header: 'LAST USED', value: (row) => formatTime(row.lastUsedAt) },
        { header: 'HINT', value: (row) => `${row.tokenHint}…` },
        { header: 'OWNER', value: (row) => row.owner },
      ])
    })

  token
    .command('revoke')
    .description('revoke an agent token at once')
    .argument('<id>', 'token id (tok_…), from `token list`')
    .action(async (id: string, _options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const revoked = await client.json<AgentTokenView>(
        'POST',
        `/v1/admin/tokens/${encodeURIComponent(id)}/revoke`
      )
      if (json) return printJson(revoked)
      print(
        `Revoked token ${revoked.id} of agent:${revoked.name} at ${formatTime(revoked.revokedAt)}.`
      )
    })
}
