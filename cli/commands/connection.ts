/**
 * `gatehouse connection list|set|remove`: targets and their credentials. Credential
 * secrets are read from environment variables (or, for an SSH key, a file) named on the
 * command line, never from the command line itself (which other users can see in `ps`),
 * and are never printed.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'
import { type GatehouseClient, GatewayError } from '../client.ts'
import { contextOf } from '../context.ts'
import { formatTime, print, printJson, printTable, usageError } from '../output.ts'
import { hostKeyFingerprint, hostKeyLine, readPrivateKeyFile } from '../ssh-keys.ts'

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
    hostKey?: string
  }
  description: string
  hasCredential: boolean
  createdAt: number
  updatedAt: number
}

const KINDS = ['http', 'postgres', 'ssh'] as const
const TLS_MODES = ['verify-full', 'disable'] as const
const DEFAULT_PORTS = { postgres: 5432, ssh: 22 } as const

type SetOptions = {
  kind: (typeof KINDS)[number]
  url?: string
  host?: string
  port?: number
  database?: string
  tls?: (typeof TLS_MODES)[number]
  hostKey?: string
  user?: string
  /** `--username`, the same as `--user`. */
  username?: string
  passwordEnv?: string
  privateKeyFile?: string
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
  | { type: 'key'; username: string; privateKey: string }

type Target = ConnectionView['target']

/** Flags that only make sense for some kinds, so a slip (--url on a postgres target) is named. */
const KIND_FLAGS: [keyof SetOptions, string, readonly SetOptions['kind'][]][] = [
  ['url', '--url', ['http']],
  ['timeoutMs', '--timeout-ms', ['http']],
  ['maxBodyBytes', '--max-body-bytes', ['http']],
  ['bearerEnv', '--bearer-env', ['http']],
  ['basicUser', '--basic-user', ['http']],
  ['basicPasswordEnv', '--basic-password-env', ['http']],
  ['header', '--header', ['http']],
  ['headerValueEnv', '--header-value-env', ['http']],
  ['host', '--host', ['postgres', 'ssh']],
  ['port', '--port', ['postgres', 'ssh']],
  ['database', '--database', ['postgres']],
  ['tls', '--tls', ['postgres']],
  ['hostKey', '--host-key', ['ssh']],
  ['user', '--user', ['postgres', 'ssh']],
  ['username', '--username', ['postgres', 'ssh']],
  ['passwordEnv', '--password-env', ['postgres', 'ssh']],
  ['privateKeyFile', '--private-key-file', ['ssh']],
]

/** Adds `connection list|set|remove`. */
export function registerConnectionCommands(program: Command): void {
  const connection = program
    .command('connection')
    .description(
      'register targets (HTTP, Postgres, SSH) and the credentials the gateway uses for them'
    )

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
    .option('--host <host>', 'postgres, ssh: server host name or IP address')
    .option(
      '--port <port>',
      `postgres, ssh: server port (default ${DEFAULT_PORTS.postgres}, ssh ${DEFAULT_PORTS.ssh})`,
      port
    )
    .option('--database <name>', 'postgres: the database every session opens')
    .addOption(
      new Option('--tls <mode>', 'postgres: TLS to the server (default verify-full)').choices(
        TLS_MODES
      )
    )
    .option(
      '--host-key <line>',
      'ssh: the server\'s public host key, pinned ("ssh-ed25519 AAAA…"; ssh-keyscan prints it)'
    )
    .option('--description <text>', 'what the target is (default: keep the current one)')
    .option('--bearer-env <var>', 'http: send "Authorization: Bearer $VAR" to the target')
    .option('--basic-user <user>', 'http: send HTTP basic auth as this user …')
    .option('--basic-password-env <var>', '… with the password in $VAR')
    .option('--header <name>', 'http: send this header to the target …')
    .option('--header-value-env <var>', '… with the value in $VAR')
    .option('--user <user>', 'postgres, ssh: log in to the server as this role or user …')
    .addOption(new Option('--username <user>', 'the same as --user').hideHelp())
    .option('--password-env <var>', '… with the password in $VAR')
    .option(
      '--private-key-file <path>',
      'ssh: … or with this unencrypted OpenSSH ed25519 private key'
    )
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
  const stray = KIND_FLAGS.filter(
    ([key, , kinds]) => options[key] !== undefined && !kinds.includes(options.kind)
  ).map(([, flag]) => flag)
  if (stray.length > 0) {
    throw usageError(`${stray.join(', ')} cannot be used with --kind ${options.kind}`)
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
    options.kind === 'postgres' && options.database === undefined && '--database',
    options.kind === 'ssh' && options.hostKey === undefined && '--host-key',
  ].filter((flag): flag is string => typeof flag === 'string')
  if (missing.length > 0) {
    throw usageError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required for ${options.kind === 'postgres' ? 'a' : 'an'} ${options.kind} connection`
    )
  }
  if (options.kind === 'ssh') {
    return {
      host: options.host,
      port: options.port ?? DEFAULT_PORTS.ssh,
      hostKey: hostKeyLine(options.hostKey ?? ''),
    }
  }
  return {
    host: options.host,
    port: options.port ?? DEFAULT_PORTS.postgres,
    database: options.database,
    tls: options.tls ?? 'verify-full',
  }
}

/** The credential the flags describe: undefined keeps the stored one, null removes it. */
function credentialFrom(options: SetOptions): Credential | null | undefined {
  const isFlag = (flag: string | false): flag is string => typeof flag === 'string'
  // A login (Postgres, SSH) is one credential however many flags it takes; its two
  // secrets (password or key) are two.
  const secrets = [
    options.passwordEnv !== undefined && '--password-env',
    options.privateKeyFile !== undefined && '--private-key-file',
  ].filter(isFlag)
  const login = options.user !== undefined || options.username !== undefined || secrets.length > 0
  const chosen = [
    options.bearerEnv !== undefined && '--bearer-env',
    (options.basicUser !== undefined || options.basicPasswordEnv !== undefined) && '--basic-user',
    (options.header !== undefined || options.headerValueEnv !== undefined) && '--header',
    ...(secrets.length > 1 ? secrets : [login && '--user']),
    !options.credential && '--no-credential',
  ].filter(isFlag)
  if (chosen.length > 1) {
    throw usageError(`choose one credential: ${chosen.join(', ')} cannot be combined`)
  }
  if (options.user !== undefined && options.username !== undefined) {
    throw usageError('--user and --username are the same flag: give one')
  }
  const user = options.user ?? options.username
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
  if (options.kind === 'ssh' && (user !== undefined || options.privateKeyFile !== undefined)) {
    if (user === undefined || (options.passwordEnv ?? options.privateKeyFile) === undefined) {
      throw usageError('--user goes with --private-key-file or --password-env')
    }
    if (options.privateKeyFile !== undefined) {
      return { type: 'key', username: user, privateKey: readPrivateKeyFile(options.privateKeyFile) }
    }
  }
  if (user !== undefined || options.passwordEnv !== undefined) {
    if (user === undefined || options.passwordEnv === undefined) {
      throw usageError('--user and --password-env go together')
    }
    return {
      type: 'password',
      username: user,
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
  const flags = {
    http: '--bearer-env, --basic-user, --header',
    postgres: '--user and --password-env',
    ssh: '--user with --private-key-file or --password-env',
  }[kind]
  throw usageError(
    `connection ${name} holds a credential for ${from}; to use it with ${to}, ` +
      `give the credential again (${flags}), drop it (--no-credential) ` +
      'or confirm with --move-credential'
  )
}

/** Where a credential would be sent: an HTTP origin, a Postgres or an SSH server. */
function endpoint(kind: string, target: Target): string {
  if (kind === 'postgres' || kind === 'ssh') return `${kind}://${target.host}:${target.port}`
  try {
    return new URL(target.url ?? '').origin
  } catch {
    return target.url ?? '?'
  }
}

/**
 * A target as one line: the URL, `postgres://host:port/database (tls mode)`, or
 * `ssh://host:port (ssh-ed25519 SHA256:…)` with the pinned key's fingerprint as ssh prints it.
 */
function describeTarget(kind: string, target: Target): string {
  if (kind === 'postgres') {
    return `postgres://${target.host}:${target.port}/${target.database} (tls ${target.tls})`
  }
  if (kind === 'ssh') {
    const type = (target.hostKey ?? '').split(' ')[0] || '?'
    return `ssh://${target.host}:${target.port} (${type} ${hostKeyFingerprint(target.hostKey ?? '')})`
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
    case 'key':
      return `key for ${credential.username} from ${options.privateKeyFile}`
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
