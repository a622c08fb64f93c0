/** `gatehouse connection`: credentials go in through environment variables and never come out. */
import { describe, expect, inject, it } from 'vitest'
import { gatehouse, gatehouseJson } from './support/cli.ts'

type ConnectionView = {
  name: string
  target: { url: string; timeoutMs?: number }
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
