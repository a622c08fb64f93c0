/**
 * `gatehouse connection list|set|remove`: targets and their credentials. Credential
 * secrets are read from environment variables named on the command line, never from
 * the command line itself (which other users can see in `ps`), and are never printed.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'
import { type GatehouseClient, GatewayError } from '../client.ts'
import { contextOf } from '../context.ts'
import { formatTime, print, printJson, printTable, usageError } from '../output.ts'

type ConnectionView = {
  id: string
  name: string
  kind: string
  target: {
    url?: string
    timeoutMs?: number
    maxBodyBytes?: number
    host?: string
    port?: number
    database?: string
    tls?: string
  }
  description: string
  hasCredential: boolean
  createdAt: number
  updatedAt: number
}

const KINDS = ['http', 'postgres'] as const
const TLS_MODES = ['verify-full', 'disable'] as const
const POSTGRES_DEFAULT_PORT = 5432

type SetOptions = {
  kind: (typeof KINDS)[number]
  url?: string
  host?: string
  port?: number
  database?: string
  tls?: (typeof TLS_MODES)[number]
  user?: string
  passwordEnv?: string
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
  | { type: 'password'; username: string; password: string }

type Target = ConnectionView['target']

/** Flags that only make sense for one kind, so a slip (--url on a postgres target) is named. */
const KIND_FLAGS: Record<SetOptions['kind'], [keyof SetOptions, string][]> = {
  http: [
    ['url', '--url'],
    ['timeoutMs', '--timeout-ms'],
    ['maxBodyBytes', '--max-body-bytes'],
    ['bearerEnv', '--bearer-env'],
    ['basicUser', '--basic-user'],
    ['basicPasswordEnv', '--basic-password-env'],
    ['header', '--header'],
    ['headerValueEnv', '--header-value-env'],
  ],
  postgres: [
    ['host', '--host'],
    ['port', '--port'],
    ['database', '--database'],
    ['tls', '--tls'],
    ['user', '--user'],
    ['passwordEnv', '--password-env'],
  ],
}

/** Adds `connection list|set|remove`. */
export function registerConnectionCommands(program: Command): void {
  const connection = program
    .command('connection')
    .description('register targets (HTTP, Postgres) and the credentials the gateway uses for them')

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
        { header: 'TARGET', value: (row) => describeTarget(row.kind, row.target) },
        { header: 'CREDENTIAL', value: (row) => (row.hasCredential ? 'stored' : 'none') },
        { header: 'UPDATED', value: (row) => formatTime(row.updatedAt) },
        { header: 'DESCRIPTION', value: (row) => row.description },
      ])
    })

  connection
    .command('set')
    .description(
      'create or replace a connection; without credential flags the stored credential is kept'
    )
    .argument('<name>', 'connection name (agents use /proxy/<name>/… or `connect <name>`)')
    .addOption(new Option('--kind <kind>', 'what the target speaks').choices(KINDS).default('http'))
    .option('--url <url>', 'http: base URL of the target')
    .option('--timeout-ms <n>', 'http: how long to wait for response headers', positiveInt)
    .option('--max-body-bytes <n>', 'http: largest request body accepted', positiveInt)
    .option('--host <host>', 'postgres: server host name or IP address')
    .option('--port <port>', `postgres: server port (default ${POSTGRES_DEFAULT_PORT})`, port)
    .option('--database <name>', 'postgres: the database every session opens')
    .addOption(
      new Option('--tls <mode>', 'postgres: TLS to the server (default verify-full)').choices(
        TLS_MODES
      )
    )
    .option('--description <text>', 'what the target is (default: keep the current one)')
    .option('--bearer-env <var>', 'http: send "Authorization: Bearer $VAR" to the target')
    .option('--basic-user <user>', 'http: send HTTP basic auth as this user …')
    .option('--basic-password-env <var>', '… with the password in $VAR')
    .option('--header <name>', 'http: send this header to the target …')
    .option('--header-value-env <var>', '… with the value in $VAR')
    .option('--user <user>', 'postgres: log in to the server as this role …')
    .option('--password-env <var>', '… with the password in $VAR')
    .option('--no-credential', 'remove the stored credential')
    .option('--move-credential', 'keep the stored credential although the target moves')
    .action(async (name: string, options: SetOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const target = targetFrom(options)
      const credential = credentialFrom(options)
      const current = await currentConnection(client, name)
      if (credential === undefined && current?.hasCredential && !options.moveCredential) {
        refuseCredentialMove(name, current, options.kind, target)
      }
      const description = options.description ?? current?.description
      const body = {
        kind: options.kind,
        target,
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
        `${verb} connection ${saved.name} → ${describeTarget(saved.kind, saved.target)} ` +
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

/** The target the flags describe, after checking that every flag given fits the kind. */
function targetFrom(options: SetOptions): Target {
  for (const [kind, flags] of Object.entries(KIND_FLAGS)) {
    if (kind === options.kind) continue
    const stray = flags.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag)
    if (stray.length > 0) {
      throw usageError(`${stray.join(', ')} cannot be used with --kind ${options.kind}`)
    }
  }
  if (options.kind === 'http') {
    if (options.url === undefined) throw usageError('--url is required for an http connection')
    return {
      url: options.url,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    }
  }
  const missing = [
    options.host === undefined && '--host',
    options.database === undefined && '--database',
  ].filter((flag): flag is string => typeof flag === 'string')
  if (missing.length > 0) {
    throw usageError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required for a postgres connection`
    )
  }
  return {
    host: options.host,
    port: options.port ?? POSTGRES_DEFAULT_PORT,
    database: options.database,
    tls: options.tls ?? 'verify-full',
  }
}

/** The credential the flags describe: undefined keeps the stored one, null removes it. */
function credentialFrom(options: SetOptions): Credential | null | undefined {
  const chosen = [
    options.bearerEnv !== undefined && '--bearer-env',
    (options.basicUser !== undefined || options.basicPasswordEnv !== undefined) && '--basic-user',
    (options.header !== undefined || options.headerValueEnv !== undefined) && '--header',
    (options.user !== undefined || options.passwordEnv !== undefined) && '--user',
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
  if (options.user !== undefined || options.passwordEnv !== undefined) {
    if (options.user === undefined || options.passwordEnv === undefined) {
      throw usageError('--user and --password-env go together')
    }
    return {
      type: 'password',
      username: options.user,
      password: fromEnv(options.passwordEnv, '--password-env', 'the password'),
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
 * endpoint (origin, or Postgres host and port) unless told to (`moveCredential`);
 * checking here first gives a usage error that names the flags.
 */
function refuseCredentialMove(
  name: string,
  current: ConnectionView,
  kind: SetOptions['kind'],
  target: Target
): void {
  const from = endpoint(current.kind, current.target)
  const to = endpoint(kind, target)
  if (from === to) return
  const flags =
    kind === 'postgres' ? '--user and --password-env' : '--bearer-env, --basic-user, --header'
  throw usageError(
    `connection ${name} holds a credential for ${from}; to use it with ${to}, ` +
      `give the credential again (${flags}), drop it (--no-credential) ` +
      'or confirm with --move-credential'
  )
}

/** Where a credential would be sent: an HTTP origin, or a Postgres server. */
function endpoint(kind: string, target: Target): string {
  if (kind === 'postgres') return `postgres://${target.host}:${target.port}`
  try {
    return new URL(target.url ?? '').origin
  } catch {
    return target.url ?? '?'
  }
}

/** A target as one line: the URL, or `postgres://host:port/database (tls mode)`. */
function describeTarget(kind: string, target: Target): string {
  if (kind === 'postgres') {
    return `postgres://${target.host}:${target.port}/${target.database} (tls ${target.tls})`
  }
  return target.url ?? '-'
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
    case 'password':
      return `password for ${credential.username} from $${options.passwordEnv}`
  }
}

/** commander parser for port numbers. */
function port(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < 1 || number > 65_535) {
    throw new InvalidArgumentError('must be a port number, 1-65535.')
  }
  return number
}

/** commander parser for whole-number flags; its errors exit 2 like other usage mistakes. */
function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new InvalidArgumentError('must be a positive whole number.')
  }
  return Number(value)
}
