/**
 * `gatehouse connection list|set|remove`: targets and their credentials. Credential
 * secrets are read from environment variables named on the command line, never from
 * the command line itself (which other users can see in `ps`), and are never printed.
 */
import { type Command, InvalidArgumentError } from 'commander'
import { type GatehouseClient, GatewayError } from '../client.ts'
import { contextOf } from '../context.ts'
import { formatTime, print, printJson, printTable, usageError } from '../output.ts'

type ConnectionView = {
  id: string
  name: string
  kind: string
  target: { url?: string; timeoutMs?: number; maxBodyBytes?: number }
  description: string
  hasCredential: boolean
  createdAt: number
  updatedAt: number
}

type SetOptions = {
  url: string
  timeoutMs?: number
  maxBodyBytes?: number
  description?: string
  bearerEnv?: string
  basicUser?: string
  basicPasswordEnv?: string
  header?: string
  headerValueEnv?: string
  /** commander's `--no-credential`: false when given. */
  credential: boolean
  moveCredential?: boolean
}

type Credential =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string }

/** Adds `connection list|set|remove`. */
export function registerConnectionCommands(program: Command): void {
  const connection = program
    .command('connection')
    .description('register HTTP targets and the credentials the gateway uses for them')

  connection
    .command('list')
    .description('list connections (credentials are never shown)')
    .action(async (_options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const { connections } = await client.json<{ connections: ConnectionView[] }>(
        'GET',
        '/v1/admin/connections'
      )
      if (json) return printJson({ connections })
      if (connections.length === 0) return print('No connections.')
      printTable(connections, [
        { header: 'NAME', value: (row) => row.name },
        { header: 'KIND', value: (row) => row.kind },
        { header: 'TARGET', value: (row) => row.target.url ?? '-' },
        { header: 'CREDENTIAL', value: (row) => (row.hasCredential ? 'stored' : 'none') },
        { header: 'UPDATED', value: (row) => formatTime(row.updatedAt) },
        { header: 'DESCRIPTION', value: (row) => row.description },
      ])
    })

  connection
    .command('set')
    .description(
      'create or replace an HTTP connection; without credential flags the stored credential is kept'
    )
    .argument('<name>', 'connection name (agents use /proxy/<name>/…)')
    .requiredOption('--url <url>', 'base URL of the target')
    .option('--timeout-ms <n>', 'how long to wait for response headers', positiveInt)
    .option('--max-body-bytes <n>', 'largest request body accepted', positiveInt)
    .option('--description <text>', 'what the target is (default: keep the current one)')
    .option('--bearer-env <var>', 'send "Authorization: Bearer $VAR" to the target')
    .option('--basic-user <user>', 'send HTTP basic auth as this user …')
    .option('--basic-password-env <var>', '… with the password in $VAR')
    .option('--header <name>', 'send this header to the target …')
    .option('--header-value-env <var>', '… with the value in $VAR')
    .option('--no-credential', 'remove the stored credential')
    .option('--move-credential', 'keep the stored credential although the origin changes')
    .action(async (name: string, options: SetOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const credential = credentialFrom(options)
      const current = await currentConnection(client, name)
      if (credential === undefined && current?.hasCredential && !options.moveCredential) {
        refuseCredentialMove(name, current.target.url, options.url)
      }
      const description = options.description ?? current?.description
      const body = {
        kind: 'http',
        target: {
          url: options.url,
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
        },
        ...(credential === undefined ? {} : { credential }),
        ...(options.moveCredential ? { moveCredential: true } : {}),
        ...(description ? { description } : {}),
      }
      const saved = await client.json<ConnectionView>(
        'PUT',
        `/v1/admin/connections/${encodeURIComponent(name)}`,
        { json: body }
      )
      if (json) return printJson(saved)
      const verb = saved.createdAt === saved.updatedAt ? 'Created' : 'Updated'
      print(
        `${verb} connection ${saved.name} → ${saved.target.url ?? '?'} ` +
          `(credential: ${describeCredentialChange(credential, saved.hasCredential, options)}).`
      )
    })

  connection
    .command('remove')
    .description('delete a connection and its stored credential')
    .argument('<name>', 'connection name')
    .action(async (name: string, _options: object, command: Command) => {
      const { client, json } = contextOf(command)
      await client.json('DELETE', `/v1/admin/connections/${encodeURIComponent(name)}`)
      if (json) return printJson({ removed: name })
      print(`Removed connection ${name}.`)
    })
}

/** The credential the flags describe: undefined keeps the stored one, null removes it. */
function credentialFrom(options: SetOptions): Credential | null | undefined {
  const chosen = [
    options.bearerEnv !== undefined && '--bearer-env',
    (options.basicUser !== undefined || options.basicPasswordEnv !== undefined) && '--basic-user',
    (options.header !== undefined || options.headerValueEnv !== undefined) && '--header',
    !options.credential && '--no-credential',
  ].filter((flag): flag is string => typeof flag === 'string')
  if (chosen.length > 1) {
    throw usageError(`choose one credential: ${chosen.join(', ')} cannot be combined`)
  }
  if (options.bearerEnv !== undefined) {
    return { type: 'bearer', token: fromEnv(options.bearerEnv, '--bearer-env', 'the token') }
  }
  if (options.basicUser !== undefined || options.basicPasswordEnv !== undefined) {
    if (options.basicUser === undefined || options.basicPasswordEnv === undefined) {
      throw usageError('--basic-user and --basic-password-env go together')
    }
    return {
      type: 'basic',
      username: options.basicUser,
      password: fromEnv(options.basicPasswordEnv, '--basic-password-env', 'the password'),
    }
  }
  if (options.header !== undefined || options.headerValueEnv !== undefined) {
    if (options.header === undefined || options.headerValueEnv === undefined) {
      throw usageError('--header and --header-value-env go together')
    }
    return {
      type: 'header',
      name: options.header,
      value: fromEnv(options.headerValueEnv, '--header-value-env', 'the header value'),
    }
  }
  return options.credential ? undefined : null
}

function fromEnv(variable: string, flag: string, what: string): string {
  const value = process.env[variable]
  if (!value) {
    throw usageError(
      `${flag} ${variable}: the environment variable ${variable} is not set (it should hold ${what})`
    )
  }
  return value
}

/** The connection as stored, or undefined when there is none by that name. */
async function currentConnection(
  client: GatehouseClient,
  name: string
): Promise<ConnectionView | undefined> {
  return client
    .json<ConnectionView>('GET', `/v1/admin/connections/${encodeURIComponent(name)}`)
    .catch((error: unknown) => {
      if (error instanceof GatewayError && error.code === 'resource.not_found') return undefined
      throw error
    })
}

/**
 * The admin API refuses to keep a stored credential when the target moves to another
 * origin unless told to (`moveCredential`); checking here first gives a usage error that
 * names the flags.
 */
function refuseCredentialMove(name: string, from: string | undefined, to: string): void {
  const origin = (url: string | undefined) => {
    try {
      return url === undefined ? undefined : new URL(url).origin
    } catch {
      return url
    }
  }
  if (origin(from) === origin(to)) return
  throw usageError(
    `connection ${name} holds a credential for ${origin(from)}; to use it with ${origin(to)}, ` +
      'give the credential again (--bearer-env, --basic-user, --header), drop it (--no-credential) ' +
      'or confirm with --move-credential'
  )
}

function describeCredentialChange(
  credential: Credential | null | undefined,
  stored: boolean,
  options: SetOptions
): string {
  if (credential === null) return 'removed'
  if (credential === undefined) return stored ? 'kept' : 'none'
  switch (credential.type) {
    case 'bearer':
      return `bearer token from $${options.bearerEnv}`
    case 'basic':
      return `basic auth as ${credential.username}, password from $${options.basicPasswordEnv}`
    case 'header':
      return `${credential.name} header from $${options.headerValueEnv}`
  }
}

/** commander parser for whole-number flags; its errors exit 2 like other usage mistakes. */
function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new InvalidArgumentError('must be a positive whole number.')
  }
  return Number(value)
}
