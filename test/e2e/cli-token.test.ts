/** `gatehouse token`: minting, listing and revoking agent tokens against the running gateway. */
import { describe, expect, it } from 'vitest'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { asAgent, errorCode } from './support/gateway.ts'

type TokenView = {
  id: string
  name: string
  connections: string[]
  createdAt: number
  expiresAt: number
  status: string
  description: string
}

const TOKEN_LINE = /^ {2}(gha_[A-Za-z0-9_-]{43})$/m

async function createDemoAgentToken(description: string): Promise<{ id: string; token: string }> {
  const result = await gatehouse([
    'token',
    'create',
    '--name',
    'demo-agent',
    '--connections',
    'demo',
    '--ttl',
    '1h',
    '--description',
    description,
  ])
  expect(result.code).toBe(0)
  const token = TOKEN_LINE.exec(result.stdout)?.[1]
  const id = /^Created token (tok_\S+) for agent:demo-agent /.exec(result.stdout)?.[1]
  if (!token || !id) throw new Error(`unexpected token create output:\n${result.stdout}`)
  return { id, token }
}

describe('gatehouse token', () => {
  it('token create prints the secret once, and the token works on its connection', async () => {
    const { token } = await createDemoAgentToken('e2e: create then use')
    const response = await asAgent(token, 'GET', '/proxy/demo/orders/1001')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      order: { id: '1001', customer: 'Ada Lovelace', total: 4200, currency: 'EUR', status: 'paid' },
    })
  })

  it('token revoke refuses the same token with auth.revoked_token on the very next request', async () => {
    const { id, token } = await createDemoAgentToken('e2e: revoke')
    expect((await asAgent(token, 'GET', '/proxy/demo/orders/1001')).status).toBe(200)

    const revoked = await gatehouse(['token', 'revoke', id])
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toMatch(
      new RegExp(`^Revoked token ${id} of agent:demo-agent at \\S+ \\S+Z\\.\\n$`)
    )

    const refused = await asAgent(token, 'GET', '/proxy/demo/orders/1001')
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toBe(
      'Bearer realm="gatehouse", error="invalid_token", error_description="revoked"'
    )
    expect(await errorCode(refused)).toBe('auth.revoked_token')
  })

  it('a revoked token is refused by the CLI too, with exit 1 and the auth code', async () => {
    const { id, token } = await createDemoAgentToken('e2e: revoked whoami')
    await gatehouse(['token', 'revoke', id])
    const result = await gatehouse(['whoami'], { token })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(
      /^error: auth\.revoked_token: This agent token has been revoked\.\n/
    )
  })

  it('token list never shows a secret, and shows revoked tokens only with --all', async () => {
    const { id, token } = await createDemoAgentToken('e2e: list')
    await gatehouse(['token', 'revoke', id])

    const active = await gatehouse(['token', 'list'])
    expect(active.code).toBe(0)
    expect(active.stdout).toMatch(
      /^ID +AGENT +STATUS +CONNECTIONS +EXPIRES +LAST USED +HINT +OWNER\n/
    )
    expect(active.stdout).not.toContain(id)
    expect(active.stdout).not.toContain(token)

    const all = await gatehouse(['token', 'list', '--all'])
    expect(all.stdout).toMatch(new RegExp(`^${id} +demo-agent +revoked +demo `, 'm'))
    expect(all.stdout).not.toContain(token)
    expect(all.stdout).toContain(`${token.slice(0, 10)}…`)

    const json = await gatehouse(['--json', 'token', 'list', '--all'])
    expect(json.stdout).not.toContain(token)
  })

  it('token create --ttl 2d sets a two-day lifetime', async () => {
    const created = await gatehouseJson<TokenView & { token: string }>([
      'token',
      'create',
      '--name',
      'e2e-ttl',
      '--connections',
      'demo, other',
      '--ttl',
      '2d',
    ])
    expect(created.expiresAt - created.createdAt).toBe(2 * 86_400_000)
    expect(created.connections).toEqual(['demo', 'other'])
    expect(created.status).toBe('active')
    expect(created.token).toMatch(/^gha_[A-Za-z0-9_-]{43}$/)
  })

  it('a token scoped to another connection is refused on demo with access.denied', async () => {
    const created = await gatehouseJson<TokenView & { token: string }>([
      'token',
      'create',
      '--name',
      'demo-agent',
      '--connections',
      'elsewhere',
    ])
    const response = await asAgent(created.token, 'GET', '/proxy/demo/orders/1001')
    expect(response.status).toBe(403)
    expect(await errorCode(response)).toBe('access.denied')
  })

  it('a malformed --ttl is a usage error (exit 2) and mints nothing', async () => {
    const result = await gatehouse([
      'token',
      'create',
      '--name',
      'e2e-bad-ttl',
      '--connections',
      'demo',
      '--ttl',
      '3 weeks',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'error: usage: --ttl must look like 3600s, 90m, 24h or 7d (got "3 weeks")\n'
    )
    const list = await gatehouseJson<{ tokens: TokenView[] }>([
      'token',
      'list',
      '--name',
      'e2e-bad-ttl',
    ])
    expect(list.tokens).toEqual([])
  })

  it('token revoke of an unknown id exits 1 with resource.not_found', async () => {
    const result = await gatehouse(['token', 'revoke', 'tok_doesnotexist'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'error: resource.not_found: No agent token with id "tok_doesnotexist".\n'
    )
  })
})
