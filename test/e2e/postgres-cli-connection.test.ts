/**
 * `gatehouse connection set --kind postgres`: where the server is, which database every
 * session opens, and the role's password, read from an environment variable and never
 * printed. A connection registered this way carries a psql session.
 */
import { describe, expect, inject, it } from 'vitest'
import { PG_ROLES } from '../harness/postgres-server.ts'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { psql, startTunnel } from './support/postgres.ts'

type ConnectionView = {
  name: string
  kind: string
  target: Record<string, unknown>
  hasCredential: boolean
}

async function connectionNamed(name: string): Promise<ConnectionView | undefined> {
  const { connections } = await gatehouseJson<{ connections: ConnectionView[] }>([
    'connection',
    'list',
  ])
  return connections.find((connection) => connection.name === name)
}

const PASSWORD_ENV = { E2E_PG_PASSWORD: PG_ROLES.scram.password }

/** `connection set NAME --kind postgres` for the test cluster, plus `extra` flags. */
function setPostgres(
  name: string,
  extra: string[],
  options: { env?: Record<string, string>; database?: string } = {}
) {
  return gatehouse(
    [
      'connection',
      'set',
      name,
      '--kind',
      'postgres',
      '--host',
      '127.0.0.1',
      '--port',
      `${inject('postgresPort')}`,
      '--database',
      options.database ?? 'app',
      ...extra,
    ],
    { env: options.env ?? {} }
  )
}

describe('gatehouse connection set --kind postgres', () => {
  it('stores host, port, database, TLS mode and the password from the environment, never printing it', async () => {
    const port = inject('postgresPort')
    const set = await setPostgres(
      'e2e-pg-set',
      ['--tls', 'disable', '--user', PG_ROLES.scram.user, '--password-env', 'E2E_PG_PASSWORD'],
      { env: PASSWORD_ENV }
    )
    expect(set).toEqual({
      code: 0,
      stdout: `Created connection e2e-pg-set → postgres://127.0.0.1:${port}/app (tls disable) (credential: password for gatehouse_svc from $E2E_PG_PASSWORD).\n`,
      stderr: '',
    })
    expect(await connectionNamed('e2e-pg-set')).toEqual(
      expect.objectContaining({
        kind: 'postgres',
        target: { host: '127.0.0.1', port, database: 'app', tls: 'disable' },
        hasCredential: true,
      })
    )

    const list = await gatehouse(['connection', 'list'])
    expect(list.stdout).toMatch(
      new RegExp(
        `^e2e-pg-set +postgres +postgres://127\\.0\\.0\\.1:${port}/app \\(tls disable\\) +stored `,
        'm'
      )
    )
    expect(list.stdout).not.toContain(PG_ROLES.scram.password)
  })

  it('defaults to port 5432 and TLS verify-full', async () => {
    const result = await gatehouse([
      'connection',
      'set',
      'e2e-pg-defaults',
      '--kind',
      'postgres',
      '--host',
      'db.internal.example',
      '--database',
      'app',
    ])
    expect(result.stdout).toBe(
      'Created connection e2e-pg-defaults → postgres://db.internal.example:5432/app (tls verify-full) (credential: none).\n'
    )
  })

  it('a connection it registered carries a psql session (once the policy grants it)', async () => {
    // appdb is granted to the e2e agent; re-register it through the CLI with the same target.
    const set = await setPostgres(
      'appdb',
      ['--tls', 'disable', '--user', PG_ROLES.scram.user, '--password-env', 'E2E_PG_PASSWORD'],
      { env: PASSWORD_ENV }
    )
    expect(set.stdout).toMatch(
      /^Updated connection appdb → postgres:\/\/127\.0\.0\.1:\d+\/app \(tls disable\) \(credential: password for gatehouse_svc from \$E2E_PG_PASSWORD\)\.\n$/
    )
    const tunnel = await startTunnel('appdb', inject('postgresAgentToken'))
    try {
      const result = await psql(tunnel.port, [
        '-At',
        '-c',
        'SELECT current_user, current_database()',
      ])
      expect(result.stdout).toBe('gatehouse_svc|app\n')
    } finally {
      await tunnel.stop()
    }
  })

  it('will not send a stored password to another server unless told to', async () => {
    await setPostgres(
      'e2e-pg-move',
      ['--user', PG_ROLES.scram.user, '--password-env', 'E2E_PG_PASSWORD'],
      { env: PASSWORD_ENV }
    )
    const moved = await gatehouse([
      'connection',
      'set',
      'e2e-pg-move',
      '--kind',
      'postgres',
      '--host',
      'elsewhere.example',
      '--database',
      'app',
    ])
    expect(moved).toEqual({
      code: 2,
      stdout: '',
      stderr:
        `error: usage: connection e2e-pg-move holds a credential for postgres://127.0.0.1:${inject('postgresPort')}; ` +
        'to use it with postgres://elsewhere.example:5432, give the credential again (--user and --password-env), ' +
        'drop it (--no-credential) or confirm with --move-credential\n',
    })
  })

  it('keeps the stored password when only the database changes', async () => {
    await setPostgres(
      'e2e-pg-keep',
      ['--user', PG_ROLES.scram.user, '--password-env', 'E2E_PG_PASSWORD'],
      { env: PASSWORD_ENV }
    )
    const result = await setPostgres('e2e-pg-keep', [], { database: 'bench' })
    expect(result).toEqual({
      code: 0,
      stdout: `Updated connection e2e-pg-keep → postgres://127.0.0.1:${inject('postgresPort')}/bench (tls verify-full) (credential: kept).\n`,
      stderr: '',
    })
    expect(await connectionNamed('e2e-pg-keep')).toMatchObject({ hasCredential: true })
  })

  it('refuses HTTP flags on a Postgres connection, and a missing host or database', async () => {
    const stray = await gatehouse([
      'connection',
      'set',
      'e2e-pg-stray',
      '--kind',
      'postgres',
      '--host',
      'db',
      '--database',
      'app',
      '--url',
      'http://db',
    ])
    expect(stray).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: usage: --url cannot be used with --kind postgres\n',
    })

    const missing = await gatehouse(['connection', 'set', 'e2e-pg-missing', '--kind', 'postgres'])
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: usage: --host and --database are required for a postgres connection\n',
    })
    expect(await connectionNamed('e2e-pg-missing')).toBeUndefined()
  })

  it('refuses --user without --password-env, and an unset password variable', async () => {
    const alone = await setPostgres('e2e-pg-user', ['--user', 'someone'])
    expect(alone.stderr).toBe('error: usage: --user and --password-env go together\n')
    expect(alone.code).toBe(2)

    const unset = await setPostgres('e2e-pg-user', [
      '--user',
      'someone',
      '--password-env',
      'E2E_PG_NOT_SET',
    ])
    expect(unset).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: usage: --password-env E2E_PG_NOT_SET: the environment variable E2E_PG_NOT_SET is not set (it should hold the password)\n',
    })
    expect(await connectionNamed('e2e-pg-user')).toBeUndefined()
  })

  it('refuses a TLS mode it does not know', async () => {
    const result = await setPostgres('e2e-pg-tls', ['--tls', 'prefer'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      "error: option '--tls <mode>' argument 'prefer' is invalid. Allowed choices are verify-full, disable.\n(add --help for usage)\n"
    )
  })
})
