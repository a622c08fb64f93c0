/**
 * `gatehouse whoami`, and how every command fails: exit 1 with `error: <code>: <message>`
 * when the gateway refuses or cannot be reached, exit 2 for usage mistakes.
 */
import { describe, expect, inject, it } from 'vitest'
import { gatehouse } from './support/cli.ts'

describe('gatehouse whoami', () => {
  it('names the demo agent, its principals and the connection it may use', async () => {
    const result = await gatehouse(['whoami'], { token: inject('agentToken') })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(
      new RegExp(
        [
          '^agent:demo-agent \\(via agent_token, token tok_[A-Za-z0-9_-]+\\)',
          'principals:  agent:demo-agent, group:agents',
          'token scope: demo',
          'connections:',
          '  demo \\(http\\)  Demo shop API started by gatehouse dev',
          '$',
        ].join('\\n')
      )
    )
  })

  it('recognises the admin token, which is not a data-path credential', async () => {
    const result = await gatehouse(['whoami'])
    expect(result).toEqual({
      code: 0,
      stdout: 'admin (the admin API accepts this token; it is not a data-path credential)\n',
      stderr: '',
    })
  })
})

describe('gatehouse failures', () => {
  it('an unreachable gateway exits 1 and names the URL it tried', async () => {
    const url = `http://127.0.0.1:${inject('deadPort')}`
    const result = await gatehouse(['token', 'list'], { gateway: url })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `error: gateway.unreachable: Could not reach the gateway at ${url} (ECONNREFUSED).\n` +
        'hint: Is it running? Start one with `npm start`, or point --gateway / GATEHOUSE_URL at it.\n'
    )
  })

  it('--gateway on the command line wins over GATEHOUSE_URL', async () => {
    const result = await gatehouse(['--gateway', inject('gatewayUrl'), 'token', 'list'], {
      gateway: `http://127.0.0.1:${inject('deadPort')}`,
    })
    expect(result.code).toBe(0)
  })

  it('a missing token exits 1 with auth.missing_token', async () => {
    const result = await gatehouse(['token', 'list'], { token: null })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'error: auth.missing_token: Send a Gatehouse agent token or an OIDC access token as "Authorization: Bearer <token>".\n' +
        'hint: Pass --token or set GATEHOUSE_TOKEN (npm start prints one).\n'
    )
  })

  it('an unknown token exits 1 with auth.invalid_token', async () => {
    const result = await gatehouse(['token', 'list'], {
      token: 'not-the-admin-token-0123456789abcdef',
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^error: auth\.invalid_token: The token is not valid for this gateway\.\n/
    )
  })

  it('an agent token on an admin command exits 1 with admin.forbidden', async () => {
    const result = await gatehouse(['token', 'list'], { token: inject('agentToken') })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^error: admin\.forbidden: Agent tokens cannot use the admin API\.\n/
    )
  })

  it('no error output ever contains the admin token', async () => {
    const results = await Promise.all([
      gatehouse(['token', 'revoke', 'tok_nope']),
      gatehouse(['sessions', 'show', 'nope']),
      gatehouse(['policy', 'apply', '-f', 'test/e2e/fixtures/policy-invalid.yaml']),
    ])
    for (const result of results) {
      expect(result.code).toBe(1)
      expect(result.stdout + result.stderr).not.toContain(inject('adminToken'))
    }
  })

  it('an unknown command is a usage error (exit 2)', async () => {
    const result = await gatehouse(['tokens', 'list'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: unknown command 'tokens'/)
  })

  it('a missing required option is a usage error (exit 2)', async () => {
    const result = await gatehouse(['policy', 'apply'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: required option '-f, --file <path>' not specified\n/)
  })

  it('a policy file that does not exist exits 1 naming it', async () => {
    const result = await gatehouse(['policy', 'apply', '-f', 'no/such/policy.yaml'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'error: cli.file_unreadable: Cannot read no/such/policy.yaml (ENOENT).\n'
    )
  })
})
