/**
 * `gatehouse connection`: credentials go in through environment variables (or, for an SSH
 * key, a file) and never come out.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { startTunnel } from './support/postgres.ts'
import { SSH_CONNECTION } from './support/ssh-connections.ts'

type ConnectionView = {
  name: string
  kind?: string
  target: { url: string; timeoutMs?: number } | Record<string, unknown>
  description: string
  hasCredential: boolean
}

const SECRET = 'e2e-origin-secret-do-not-print-0123456789'

async function connectionNamed(name: string): Promise<ConnectionView | undefined> {
  const { connections } = await gatehouseJson<{ connections: ConnectionView[] }>([
    'connection',
    'list',
  ])
  return connections.find((connection) => connection.name === name)
}

describe('gatehouse connection', () => {
  it('set --bearer-env stores the credential, and list shows that one is stored but never the secret', async () => {
    const set = await gatehouse(
      [
        'connection',
        'set',
        'e2e-bearer',
        '--url',
        inject('demoOriginUrl'),
        '--bearer-env',
        'E2E_SECRET',
        '--description',
        'e2e bearer',
      ],
      { env: { E2E_SECRET: SECRET } }
    )
    expect(set).toEqual({
      code: 0,
      stdout: `Created connection e2e-bearer → ${inject('demoOriginUrl')} (credential: bearer token from $E2E_SECRET).\n`,
      stderr: '',
    })

    const list = await gatehouse(['connection', 'list'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^NAME +KIND +TARGET +CREDENTIAL +UPDATED +DESCRIPTION\n/)
    expect(list.stdout).toMatch(
      new RegExp(
        `^e2e-bearer +http +${inject('demoOriginUrl')} +stored +\\S+ \\S+Z +e2e bearer$`,
        'm'
      )
    )
    expect(list.stdout).not.toContain(SECRET)

    const json = await gatehouse(['--json', 'connection', 'list'])
    expect(json.stdout).not.toContain(SECRET)
    expect(await connectionNamed('e2e-bearer')).toMatchObject({
      hasCredential: true,
      description: 'e2e bearer',
    })
  })

  it('refuses to run when the named environment variable is unset, and creates nothing', async () => {
    const result = await gatehouse([
      'connection',
      'set',
      'e2e-unset',
      '--url',
      'http://127.0.0.1:9',
      '--bearer-env',
      'E2E_NOT_SET',
    ])
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: usage: --bearer-env E2E_NOT_SET: the environment variable E2E_NOT_SET is not set (it should hold the token)\n',
    })
    expect(await connectionNamed('e2e-unset')).toBeUndefined()
  })

  it('does not accept two credentials at once', async () => {
    const result = await gatehouse(
      [
        'connection',
        'set',
        'e2e-two',
        '--url',
        'http://127.0.0.1:9',
        '--bearer-env',
        'E2E_SECRET',
        '--header',
        'X-Api-Key',
        '--header-value-env',
        'E2E_SECRET',
      ],
      { env: { E2E_SECRET: SECRET } }
    )
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'error: usage: choose one credential: --bearer-env, --header cannot be combined\n'
    )
  })

  it('set without credential flags keeps the stored credential and the description', async () => {
    await gatehouse(
      [
        'connection',
        'set',
        'e2e-keep',
        '--url',
        'http://127.0.0.1:9',
        '--header',
        'X-Api-Key',
        '--header-value-env',
        'E2E_SECRET',
        '--description',
        'kept',
      ],
      {
        env: { E2E_SECRET: SECRET },
      }
    )
    const update = await gatehouse([
      'connection',
      'set',
      'e2e-keep',
      '--url',
      'http://127.0.0.1:9/v2',
      '--timeout-ms',
      '2500',
    ])
    expect(update.stdout).toBe(
      'Updated connection e2e-keep → http://127.0.0.1:9/v2 (credential: kept).\n'
    )
    expect(await connectionNamed('e2e-keep')).toMatchObject({
      target: { url: 'http://127.0.0.1:9/v2', timeoutMs: 2500 },
      description: 'kept',
      hasCredential: true,
    })
  })

  it('will not send a stored credential to another origin unless told to', async () => {
    await gatehouse(
      [
        'connection',
        'set',
        'e2e-move',
        '--url',
        'http://127.0.0.1:9',
        '--bearer-env',
        'E2E_SECRET',
      ],
      { env: { E2E_SECRET: SECRET } }
    )
    const moved = await gatehouse([
      'connection',
      'set',
      'e2e-move',
      '--url',
      'https://elsewhere.example',
    ])
    expect(moved).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: usage: connection e2e-move holds a credential for http://127.0.0.1:9; to use it with ' +
        'https://elsewhere.example, give the credential again (--bearer-env, --basic-user, --header), ' +
        'drop it (--no-credential) or confirm with --move-credential\n',
    })
    expect(await connectionNamed('e2e-move')).toMatchObject({
      target: { url: 'http://127.0.0.1:9' },
    })

    const confirmed = await gatehouse([
      'connection',
      'set',
      'e2e-move',
      '--url',
      'https://elsewhere.example',
      '--move-credential',
    ])
    expect(confirmed.code).toBe(0)
    expect(await connectionNamed('e2e-move')).toMatchObject({
      target: { url: 'https://elsewhere.example' },
      hasCredential: true,
    })
  })

  it('set --no-credential removes the stored credential', async () => {
    await gatehouse(
      [
        'connection',
        'set',
        'e2e-remove-cred',
        '--url',
        'http://127.0.0.1:9',
        '--basic-user',
        'svc',
        '--basic-password-env',
        'E2E_SECRET',
      ],
      {
        env: { E2E_SECRET: SECRET },
      }
    )
    expect(await connectionNamed('e2e-remove-cred')).toMatchObject({ hasCredential: true })
    const result = await gatehouse([
      'connection',
      'set',
      'e2e-remove-cred',
      '--url',
      'http://127.0.0.1:9',
      '--no-credential',
    ])
    expect(result.stdout).toBe(
      'Updated connection e2e-remove-cred → http://127.0.0.1:9 (credential: removed).\n'
    )
    expect(await connectionNamed('e2e-remove-cred')).toMatchObject({ hasCredential: false })
  })

  it('remove deletes a connection; removing it again exits 1 with resource.not_found', async () => {
    await gatehouse(['connection', 'set', 'e2e-gone', '--url', 'http://127.0.0.1:9'])
    const removed = await gatehouse(['connection', 'remove', 'e2e-gone'])
    expect(removed).toEqual({ code: 0, stdout: 'Removed connection e2e-gone.\n', stderr: '' })
    expect(await connectionNamed('e2e-gone')).toBeUndefined()

    const again = await gatehouse(['connection', 'remove', 'e2e-gone'])
    expect(again.code).toBe(1)
    expect(again.stderr).toBe('error: resource.not_found: No connection named "e2e-gone".\n')
  })

  it('an invalid URL is refused by the gateway with request.invalid and the field that is wrong', async () => {
    const result = await gatehouse(['connection', 'set', 'e2e-ftp', '--url', 'ftp://files.example'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'error: request.invalid: The request body is invalid\n  target.url: must be an http:// or https:// URL\n'
    )
  })
})

describe('gatehouse connection set --kind ssh', () => {
  let keys: string
  /** `ssh-keygen -t TYPE -N PASSPHRASE`: the private key file and its public line. */
  const keyPair = (name: string, type: 'ed25519' | 'rsa', passphrase = '') => {
    const file = join(keys, name)
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'e2e', '-f', file])
    const [algorithm, blob] = readFileSync(`${file}.pub`, 'utf8').split(' ')
    return { file, publicKey: `${algorithm} ${blob}` }
  }
  /** What `ssh-keygen -l` prints for a key: `SHA256:…`. */
  const fingerprint = (file: string) =>
    execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(
      ' '
    )[1]
  let hostKey: { file: string; publicKey: string }
  let clientKey: { file: string; publicKey: string }

  beforeAll(() => {
    keys = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-ssh-keys-'))
    hostKey = keyPair('host', 'ed25519')
    clientKey = keyPair('client', 'ed25519')
  })
  afterAll(() => rmSync(keys, { recursive: true, force: true }))

  it('stores host, port and pinned host key with a key from a file, and never prints the key', async () => {
    const set = await gatehouse([
      'connection',
      'set',
      'e2e-ssh-key',
      '--kind',
      'ssh',
      '--host',
      'box.internal',
      '--port',
      '2222',
      '--host-key',
      hostKey.publicKey,
      '--user',
      'deploy',
      '--private-key-file',
      clientKey.file,
    ])
    const target = `ssh://box.internal:2222 (ssh-ed25519 ${fingerprint(`${hostKey.file}.pub`)})`
    expect(set).toEqual({
      code: 0,
      stdout: `Created connection e2e-ssh-key → ${target} (credential: key for deploy from ${clientKey.file}).\n`,
      stderr: '',
    })
    expect(await connectionNamed('e2e-ssh-key')).toMatchObject({
      kind: 'ssh',
      target: { host: 'box.internal', port: 2222, hostKey: hostKey.publicKey },
      hasCredential: true,
    })
    const list = await gatehouse(['connection', 'list'])
    expect(list.stdout).toMatch(
      new RegExp(`^e2e-ssh-key +ssh +${target.replace(/[.()+]/g, '\\$&')} +stored `, 'm')
    )
    const privateKey = readFileSync(clientKey.file, 'utf8')
    const body = privateKey.split('\n')[1] ?? ''
    for (const output of [
      set.stdout,
      list.stdout,
      (await gatehouse(['--json', 'connection', 'list'])).stdout,
    ]) {
      expect(output).not.toContain(body)
    }
  })

  it('takes the password from an environment variable, defaults to port 22, and reads an ssh-keyscan line', async () => {
    const set = await gatehouse(
      [
        'connection',
        'set',
        'e2e-ssh-password',
        '--kind',
        'ssh',
        '--host',
        'box.internal',
        '--host-key',
        `box.internal ${hostKey.publicKey}`,
        '--username',
        'deploy',
        '--password-env',
        'E2E_SSH_PASSWORD',
      ],
      { env: { E2E_SSH_PASSWORD: SECRET } }
    )
    expect(set.code).toBe(0)
    expect(set.stdout).toMatch(/\(credential: password for deploy from \$E2E_SSH_PASSWORD\)\.\n$/)
    expect(set.stdout).not.toContain(SECRET)
    expect(await connectionNamed('e2e-ssh-password')).toMatchObject({
      target: { host: 'box.internal', port: 22, hostKey: hostKey.publicKey },
      hasCredential: true,
    })
  })

  it('will not send a stored key to another server unless told to', async () => {
    const flags = ['--kind', 'ssh', '--host-key', hostKey.publicKey]
    await gatehouse([
      'connection',
      'set',
      'e2e-ssh-move',
      ...flags,
      '--host',
      'box.internal',
      '--user',
      'deploy',
      '--private-key-file',
      clientKey.file,
    ])
    const moved = await gatehouse([
      'connection',
      'set',
      'e2e-ssh-move',
      ...flags,
      '--host',
      'other.internal',
    ])
    expect(moved).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: usage: connection e2e-ssh-move holds a credential for ssh://box.internal:22; to use it with ' +
        'ssh://other.internal:22, give the credential again (--user with --private-key-file or --password-env), ' +
        'drop it (--no-credential) or confirm with --move-credential\n',
    })
  })

  it('refuses what the gateway could not use: a missing or malformed host key, an encrypted or RSA key', async () => {
    const ssh = (name: string, extra: string[]) =>
      gatehouse(['connection', 'set', name, '--kind', 'ssh', '--host', 'box.internal', ...extra])
    expect(
      await ssh('e2e-ssh-bad', ['--user', 'deploy', '--private-key-file', clientKey.file])
    ).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: usage: --host-key is required for an ssh connection\n',
    })
    const malformed = await ssh('e2e-ssh-bad', ['--host-key', 'ssh-ed25519 AAAAC3NzaC1yc2E='])
    expect(malformed.stderr).toBe(
      'error: usage: --host-key must be the server\'s OpenSSH public key line, "ssh-ed25519 AAAA…" or ' +
        '"ssh-rsa AAAA…" (ssh-keyscan -t ed25519 HOST prints it)\n'
    )
    const encrypted = keyPair('encrypted', 'ed25519', 'a passphrase')
    const withPassphrase = await ssh('e2e-ssh-bad', [
      '--host-key',
      hostKey.publicKey,
      '--user',
      'deploy',
      '--private-key-file',
      encrypted.file,
    ])
    expect(withPassphrase.stderr).toBe(
      `error: usage: --private-key-file ${encrypted.file}: the key is protected by a passphrase; ` +
        "give the gateway an unencrypted copy (cp KEY copy && ssh-keygen -p -N '' -f copy): it seals the key itself\n"
    )
    const rsa = keyPair('rsa', 'rsa')
    const rsaKey = await ssh('e2e-ssh-bad', [
      '--host-key',
      rsa.publicKey,
      '--user',
      'deploy',
      '--private-key-file',
      rsa.file,
    ])
    expect(rsaKey.stderr).toBe(
      `error: usage: --private-key-file ${rsa.file}: the key is ssh-rsa; the gateway logs in with ed25519 keys\n`
    )
    expect(await connectionNamed('e2e-ssh-bad')).toBeUndefined()
  })

  it('refuses Postgres and HTTP flags, two secrets at once, and a user without a secret', async () => {
    const ssh = (extra: string[]) =>
      gatehouse(
        [
          'connection',
          'set',
          'e2e-ssh-flags',
          '--kind',
          'ssh',
          '--host',
          'box.internal',
          '--host-key',
          hostKey.publicKey,
          ...extra,
        ],
        { env: { E2E_SSH_PASSWORD: SECRET } }
      )
    expect((await ssh(['--database', 'app', '--url', 'http://x'])).stderr).toBe(
      'error: usage: --url, --database cannot be used with --kind ssh\n'
    )
    expect(
      (
        await ssh([
          '--user',
          'deploy',
          '--password-env',
          'E2E_SSH_PASSWORD',
          '--private-key-file',
          clientKey.file,
        ])
      ).stderr
    ).toBe(
      'error: usage: choose one credential: --password-env, --private-key-file cannot be combined\n'
    )
    expect(await ssh(['--user', 'deploy'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: usage: --user goes with --private-key-file or --password-env\n',
    })
    expect(
      (
        await gatehouse([
          'connection',
          'set',
          'e2e-pg-ssh-flag',
          '--kind',
          'postgres',
          '--host',
          'db',
          '--database',
          'app',
          '--host-key',
          hostKey.publicKey,
        ])
      ).stderr
    ).toBe('error: usage: --host-key cannot be used with --kind postgres\n')
  })
})

describe('gatehouse connect on an ssh connection', () => {
  it('prints the ssh command line to use beside the listening line', async () => {
    const tunnel = await startTunnel(SSH_CONNECTION, inject('sshAgentToken'))
    const stopped = await tunnel.stop()
    expect(stopped).toEqual({
      code: 0,
      signal: null,
      stdout:
        `Tunnel to box (ssh) listening on 127.0.0.1:${tunnel.port}. Ctrl+C to stop.\n` +
        `  ssh -p ${tunnel.port} agent@127.0.0.1\n`,
      stderr: '',
    })
  })
})
