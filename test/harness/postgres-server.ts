/**
 * A private PostgreSQL 15 cluster for the tests: initdb in a temp directory (as user
 * `postgres` when we are root, since the server refuses to run as root), SCRAM by default,
 * one md5 and one cleartext-password role to exercise every auth method the gateway
 * speaks, on a free loopback port. Installs Debian's postgresql-15 when it is missing.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'
import { PG_DATABASE, PG_ROLES } from './postgres-roles.ts'

const PG_BIN = '/usr/lib/postgresql/15/bin'
const READY_TIMEOUT_MS = 30_000

export { PG_DATABASE, PG_ROLES } from './postgres-roles.ts'

export type PostgresServer = {
  host: string
  port: number
  database: string
  /** Runs SQL as the superuser through psql (setup and assertions). */
  sql: (statement: string, database?: string) => string
  stop: () => Promise<void>
}

export function ensurePostgresInstalled(): void {
  if (existsSync(join(PG_BIN, 'postgres')) && commandExists('psql') && commandExists('pgbench'))
    return
  if (process.getuid?.() !== 0) {
    throw new Error(
      'PostgreSQL 15 is missing and installing it needs root: apt-get install postgresql-15'
    )
  }
  execFileSync('apt-get', ['update'], { stdio: 'inherit' })
  execFileSync(
    'apt-get',
    ['install', '-y', '--no-install-recommends', 'postgresql-15', 'postgresql-client-15'],
    {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }
  )
}

export async function startPostgres(): Promise<PostgresServer> {
  ensurePostgresInstalled()
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'))
  const data = join(dir, 'data')
  const socketDir = join(dir, 'socket')
  const passwordFile = join(dir, 'superuser-password')
  writeFileSync(passwordFile, `${PG_ROLES.admin.password}\n`)
  if (asRoot) {
    for (const path of [dir, passwordFile]) chownSync(path, pgUid(), pgGid())
  }
  chmodSync(dir, 0o700)
  const run = (command: string, args: string[]) =>
    execFileSync(
      asRoot ? 'runuser' : command,
      asRoot ? ['-u', 'postgres', '--', command, ...args] : args,
      {
        stdio: 'pipe',
      }
    )

  run(join(PG_BIN, 'initdb'), [
    '--pgdata',
    data,
    '--username',
    'postgres',
    '--auth=scram-sha-256',
    `--pwfile=${passwordFile}`,
    '--encoding=UTF8',
    '--locale=C.UTF-8',
  ])
  run('mkdir', ['-p', socketDir])
  const port = await freePort()
  // Order matters: pg_hba.conf takes the first matching line.
  writeFileSync(
    join(data, 'pg_hba.conf'),
    [
      `host all ${PG_ROLES.md5.user} 127.0.0.1/32 md5`,
      `host all ${PG_ROLES.cleartext.user} 127.0.0.1/32 password`,
      'host all all 127.0.0.1/32 scram-sha-256',
      'local all all scram-sha-256',
      '',
    ].join('\n')
  )
  if (asRoot) chownSync(join(data, 'pg_hba.conf'), pgUid(), pgGid())

  const server = spawn(
    asRoot ? 'runuser' : join(PG_BIN, 'postgres'),
    [
      ...(asRoot ? ['-u', 'postgres', '--', join(PG_BIN, 'postgres')] : []),
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=100',
      '-c',
      'log_min_messages=warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  )
  let log = ''
  server.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8')
  })
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))

  const env = { ...process.env, PGPASSWORD: PG_ROLES.admin.password }
  const sql = (statement: string, database = PG_DATABASE) =>
    execFileSync(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        database,
        '-v',
        'ON_ERROR_STOP=1',
        '-At',
        '-c',
        statement,
      ],
      {
        env,
        encoding: 'utf8',
      }
    ).trim()

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const ready = spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    })
    if (ready.status === 0) break
    if (server.exitCode !== null || Date.now() > deadline) {
      throw new Error(`PostgreSQL did not start:\n${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  sql(`CREATE DATABASE ${PG_DATABASE}`, 'postgres')
  sql(
    [
      `CREATE ROLE ${PG_ROLES.scram.user} LOGIN PASSWORD '${PG_ROLES.scram.password}'`,
      "SET password_encryption = 'md5'",
      `CREATE ROLE ${PG_ROLES.md5.user} LOGIN PASSWORD '${PG_ROLES.md5.password}'`,
      "SET password_encryption = 'scram-sha-256'",
      `CREATE ROLE ${PG_ROLES.cleartext.user} LOGIN PASSWORD '${PG_ROLES.cleartext.password}'`,
      `GRANT ALL ON DATABASE ${PG_DATABASE} TO ${PG_ROLES.scram.user}, ${PG_ROLES.md5.user}, ${PG_ROLES.cleartext.user}`,
    ].join('; '),
    'postgres'
  )
  sql(
    [
      `ALTER SCHEMA public OWNER TO ${PG_ROLES.scram.user}`,
      `GRANT USAGE, CREATE ON SCHEMA public TO ${PG_ROLES.md5.user}, ${PG_ROLES.cleartext.user}`,
    ].join('; ')
  )

  return {
    host: '127.0.0.1',
    port,
    database: PG_DATABASE,
    sql,
    stop: async () => {
      // runuser does not pass signals on: tell the postmaster itself (fast shutdown).
      const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      if (server.exitCode === null && postmaster > 0) process.kill(postmaster, 'SIGINT')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

function pgUid(): number {
  return Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
}

function pgGid(): number {
  return Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
}
