import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import worker from '../../src/index.ts'
import {
  admin,
  adminJson,
  applyPolicy,
  asAgent,
  errorOf,
  GATEWAY,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
} from './support/gateway.ts'
import { clientCredentialsToken } from './support/oidc.ts'

const SECRET = 'vault-origin-secret-value'

beforeAll(async () => {
  await putHttpConnection(
    'vault',
    { url: originUrl(), timeoutMs: 5000 },
    { type: 'bearer', token: SECRET }
  )
  await applyPolicy({
    version: 1,
    connections: {
      vault: { grants: ['agent:vault-bot'], rules: [{ name: 'all', action: 'allow' }] },
    },
  })
})

describe('admin door', () => {
  it('refuses the admin API without a token', async () => {
    expect(await errorOf(await gatewayFetch('/v1/admin/connections'))).toMatchObject({
      status: 401,
      code: 'auth.missing_token',
    })
  })

  it('refuses a wrong bootstrap token', async () => {
    const response = await gatewayFetch('/v1/admin/connections', {
      headers: { authorization: `Bearer ${'x'.repeat(40)}` },
    })
    expect(await errorOf(response)).toMatchObject({ status: 401, code: 'auth.invalid_token' })
  })

  it('refuses an agent token on the admin API', async () => {
    const { token } = await mintToken('vault-bot', ['vault'])
    expect(
      await errorOf(await gatewayFetch('/v1/admin/connections', asAgent(token)))
    ).toMatchObject({
      status: 403,
      code: 'admin.forbidden',
    })
  })

  it('admits an OIDC caller in an admin group', async () => {
    const jwt = await clientCredentialsToken('ops-admin')
    const response = await gatewayFetch('/v1/admin/connections', asAgent(jwt))
    expect(response.status).toBe(200)
  })

  it('refuses an OIDC caller outside the admin groups', async () => {
    const jwt = await clientCredentialsToken('ci-agent')
    expect(await errorOf(await gatewayFetch('/v1/admin/connections', asAgent(jwt)))).toMatchObject({
      status: 403,
      code: 'admin.forbidden',
    })
  })

  it('refuses an admin body over 1 MiB with 413', async () => {
    const response = await admin('PUT', '/policy', 'x'.repeat(1024 * 1024 + 1), {
      'content-type': 'application/json',
    })
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'request.too_large' })
  })

  it('answers unknown routes with a JSON 404', async () => {
    expect(await errorOf(await gatewayFetch('/v2/nothing'))).toEqual({
      status: 404,
      code: 'resource.not_found',
      message: 'Nothing here: GET /v2/nothing',
    })
  })
})

describe('connections', () => {
  it('never returns the credential, only that one is set', async () => {
    const one = await adminJson<Record<string, unknown>>('GET', '/connections/vault')
    expect(one).toMatchObject({
      name: 'vault',
      kind: 'http',
      hasCredential: true,
      target: { url: originUrl(), timeoutMs: 5000 },
    })
    expect(JSON.stringify(one)).not.toContain(SECRET)
    const list = await adminJson<{ connections: unknown[] }>('GET', '/connections')
    expect(JSON.stringify(list)).not.toContain(SECRET)
  })

  it('stores the credential sealed, not in clear', async () => {
    const row = await env.DB.prepare(
      "SELECT credential FROM connections WHERE name = 'vault'"
    ).first<{ credential: string }>()
    expect(row?.credential).toMatch(/^v1\./)
    expect(row?.credential).not.toContain(SECRET)
  })

  it('keeps the stored credential when a replace omits it, and removes it on null', async () => {
    await putHttpConnection(
      'rotating',
      { url: originUrl() },
      { type: 'header', name: 'x-key', value: 'k1' }
    )
    await putHttpConnection('rotating', { url: `${originUrl()}/v2` })
    expect(await adminJson('GET', '/connections/rotating')).toMatchObject({
      hasCredential: true,
      target: { url: `${originUrl()}/v2` },
    })
    await putHttpConnection('rotating', { url: originUrl() }, null)
    expect(await adminJson('GET', '/connections/rotating')).toMatchObject({ hasCredential: false })
  })

  it('refuses to let a stored credential follow the target to another origin', async () => {
    await putHttpConnection(
      'moving',
      { url: originUrl() },
      { type: 'bearer', token: 'moving-secret' }
    )
    const moved = await admin('PUT', '/connections/moving', {
      kind: 'http',
      target: { url: 'https://elsewhere.example' },
    })
    expect(await errorOf(moved)).toEqual({
      status: 400,
      code: 'request.invalid',
      message: `Connection "moving" holds a credential for ${originUrl()}; to use it with https://elsewhere.example, send the credential again, send "credential": null to drop it, or confirm with "moveCredential": true.`,
    })
    expect(await adminJson('GET', '/connections/moving')).toMatchObject({
      target: { url: originUrl() },
    })
    // Same origin, another base path: the credential stays.
    await putHttpConnection('moving', { url: `${originUrl()}/v2` })
    const confirmed = await admin('PUT', '/connections/moving', {
      kind: 'http',
      target: { url: 'https://elsewhere.example' },
      moveCredential: true,
    })
    expect(confirmed.status).toBe(200)
    expect(await confirmed.json()).toMatchObject({
      hasCredential: true,
      target: { url: 'https://elsewhere.example' },
    })
  })

  it('rejects an invalid definition listing each problem', async () => {
    const response = await admin('PUT', '/connections/bad', {
      kind: 'http',
      target: { url: 'ftp://files.example', timeoutMs: 5 },
      credential: { type: 'bearer' },
    })
    const body = (await response.json()) as {
      error: { code: string; data: { issues: { path: string }[] } }
    }
    expect(response.status).toBe(400)
    expect(body.error.code).toBe('request.invalid')
    expect(body.error.data.issues.map((issue) => issue.path)).toEqual([
      'target.url',
      'target.timeoutMs',
      'credential.token',
    ])
  })

  it('rejects a connection name that could not be a path segment', async () => {
    const response = await admin('PUT', '/connections/Bad%20Name', {
      kind: 'http',
      target: { url: originUrl() },
    })
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'request.invalid' })
  })

  it('deletes a connection, after which the proxy answers 404', async () => {
    await putHttpConnection('temporary', { url: originUrl() })
    expect((await admin('DELETE', '/connections/temporary')).status).toBe(204)
    expect(await errorOf(await admin('DELETE', '/connections/temporary'))).toMatchObject({
      status: 404,
      code: 'resource.not_found',
    })
  })

  it('fails closed with credential.unavailable when a sealed credential is moved to another connection', async () => {
    await putHttpConnection(
      'decoy',
      { url: originUrl() },
      { type: 'bearer', token: 'decoy-secret' }
    )
    await env.DB.prepare(
      "UPDATE connections SET credential = (SELECT credential FROM connections WHERE name = 'vault') WHERE name = 'decoy'"
    ).run()
    await applyPolicy({
      version: 1,
      connections: {
        vault: { grants: ['agent:vault-bot'], rules: [{ name: 'all', action: 'allow' }] },
        decoy: { grants: ['agent:vault-bot'], rules: [{ name: 'all', action: 'allow' }] },
      },
    })
    const { token } = await mintToken('vault-bot', ['decoy'])
    const response = await gatewayFetch('/proxy/decoy/x', asAgent(token))
    expect(await errorOf(response)).toMatchObject({ status: 500, code: 'credential.unavailable' })
  })
})

describe('agent tokens', () => {
  it('shows the secret once, at creation, and never in listings', async () => {
    const created = await adminJson<{
      token: string
      id: string
      status: string
      tokenHint: string
    }>(
      'POST',
      '/tokens',
      { name: 'vault-bot', connections: ['vault'], description: 'nightly sync' },
      201
    )
    expect(created.token).toMatch(/^gha_[A-Za-z0-9_-]{43}$/)
    expect(created.status).toBe('active')
    expect(created.token.startsWith(created.tokenHint)).toBe(true)
    const listed = await adminJson<{ tokens: Record<string, unknown>[] }>(
      'GET',
      '/tokens?name=vault-bot'
    )
    expect(JSON.stringify(listed)).not.toContain(created.token)
    expect(listed.tokens.find((token) => token.id === created.id)).toMatchObject({
      name: 'vault-bot',
      owner: 'bootstrap-admin',
      connections: ['vault'],
      description: 'nightly sync',
      createdBy: 'admin:bootstrap',
    })
    expect(listed.tokens.some((token) => 'tokenHash' in token || 'token' in token)).toBe(false)
  })

  it('hides revoked tokens unless asked, and revoking twice keeps the first revocation', async () => {
    const { id } = await mintToken('vault-bot', ['vault'])
    const first = await adminJson<{ revokedAt: number }>('POST', `/tokens/${id}/revoke`)
    const second = await adminJson<{ revokedAt: number }>('POST', `/tokens/${id}/revoke`)
    expect(second.revokedAt).toBe(first.revokedAt)
    const active = await adminJson<{ tokens: { id: string }[] }>('GET', '/tokens')
    expect(active.tokens.some((token) => token.id === id)).toBe(false)
    const all = await adminJson<{ tokens: { id: string; status: string }[] }>(
      'GET',
      '/tokens?includeRevoked=true'
    )
    expect(all.tokens.find((token) => token.id === id)?.status).toBe('revoked')
  })

  it('rejects a token request with a lifetime over 90 days or no connections', async () => {
    const response = await admin('POST', '/tokens', {
      name: 'vault-bot',
      connections: [],
      ttlSeconds: 91 * 86_400,
    })
    const body = (await response.json()) as { error: { data: { issues: { path: string }[] } } }
    expect(response.status).toBe(400)
    expect(body.error.data.issues.map((issue) => issue.path)).toEqual(['connections', 'ttlSeconds'])
  })

  it('answers 404 for revoking an unknown token', async () => {
    expect(await errorOf(await admin('POST', '/tokens/tok_missing/revoke'))).toMatchObject({
      status: 404,
      code: 'resource.not_found',
    })
  })
})

describe('misconfiguration', () => {
  it('fails every request with 500 config.invalid naming the variable', async () => {
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(`${GATEWAY}/healthz`),
      { ...env, CREDENTIALS_KEY: 'not-base64-key' },
      ctx
    )
    await waitOnExecutionContext(ctx)
    expect(await errorOf(response)).toEqual({
      status: 500,
      code: 'config.invalid',
      message:
        'Gateway configuration is invalid: CREDENTIALS_KEY must be 32 random bytes in base64 (openssl rand -base64 32)',
    })
  })
})
