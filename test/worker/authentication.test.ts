import { env } from 'cloudflare:workers'
import { generateKeyPair, SignJWT } from 'jose'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { OIDC_AUDIENCE } from '../harness/oidc-clients.ts'
import {
  adminJson,
  applyPolicy,
  asAgent,
  errorOf,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  sessionsOf,
} from './support/gateway.ts'
import {
  clientCredentialsToken,
  hmacWithPublicKey,
  signedByProvider,
  unsignedToken,
} from './support/oidc.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

beforeAll(async () => {
  await putHttpConnection('orders', { url: originUrl() })
  await putHttpConnection('billing', { url: originUrl() })
  await applyPolicy({
    version: 1,
    groups: { bots: { members: ['agent:order-bot', 'agent:scoped-bot', 'idp:ci-agents'] } },
    connections: {
      orders: { grants: ['group:bots'], rules: [{ name: 'all', action: 'allow' }] },
      billing: { grants: ['group:bots'], rules: [{ name: 'all', action: 'allow' }] },
    },
  })
})

/** Calls the orders connection with a raw Authorization header and a marker the origin records. */
async function callOrders(authorization?: string) {
  const marker = uniqueMarker('auth')
  const headers: Record<string, string> = { 'x-test-marker': marker }
  if (authorization !== undefined) headers.authorization = authorization
  const response = await gatewayFetch('/proxy/orders/list', { headers })
  return { response, marker }
}

async function expectRefused(authorization: string | undefined, status: number, code: string) {
  const { response, marker } = await callOrders(authorization)
  expect(await errorOf(response)).toMatchObject({ status, code })
  expect(await arrivalsWith(marker)).toEqual([])
  return response
}

describe('bearer parsing', () => {
  it('refuses a request without Authorization with 401 auth.missing_token and a Bearer challenge', async () => {
    const response = await expectRefused(undefined, 401, 'auth.missing_token')
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"')
  })

  it('refuses a non-Bearer scheme with 401 auth.malformed_token', async () => {
    await expectRefused('Basic dXNlcjpwYXNz', 401, 'auth.malformed_token')
  })

  it('refuses a Bearer header with two tokens with 401 auth.malformed_token', async () => {
    await expectRefused('Bearer abc def', 401, 'auth.malformed_token')
  })

  it('tells a caller using the bootstrap admin token on the data path what that token is for', async () => {
    const { response, marker } = await callOrders(`Bearer ${env.ADMIN_TOKEN}`)
    expect(await errorOf(response)).toEqual({
      status: 401,
      code: 'auth.invalid_token',
      message:
        'The bootstrap admin token only opens the admin API (/v1/admin); use an agent token or an OIDC token here.',
    })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('refuses a token that is neither an agent token nor a JWT with 401 auth.invalid_token', async () => {
    await expectRefused('Bearer not-a-real-token', 401, 'auth.invalid_token')
  })
})

describe('agent tokens', () => {
  it('accepts a freshly minted token and reaches the origin', async () => {
    const { token } = await mintToken('order-bot', ['orders'])
    const { response, marker } = await callOrders(`Bearer ${token}`)
    expect(response.status).toBe(200)
    expect(await arrivalsWith(marker)).toHaveLength(1)
  })

  it('refuses a well-formed agent token that was never issued', async () => {
    const forged = `gha_${'A'.repeat(43)}`
    await expectRefused(`Bearer ${forged}`, 401, 'auth.invalid_token')
  })

  it('stores only a hash: the secret appears nowhere in D1', async () => {
    const { token, id } = await mintToken('order-bot', ['orders'])
    const row = await env.DB.prepare('SELECT * FROM agent_tokens WHERE id = ?').bind(id).first()
    expect(JSON.stringify(row)).not.toContain(token.slice(4))
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('refuses a revoked token on the very next request, and records the refusal', async () => {
    const { token, id } = await mintToken('order-bot', ['orders'])
    expect((await callOrders(`Bearer ${token}`)).response.status).toBe(200)
    const revoked = await adminJson('POST', `/tokens/${id}/revoke`)
    expect(revoked.status).toBe('revoked')
    await expectRefused(`Bearer ${token}`, 401, 'auth.revoked_token')
    await expect
      .poll(async () =>
        (await sessionsOf('agent:order-bot')).filter((s) => s.outcome === 'refused')
      )
      .not.toHaveLength(0)
  })

  it('refuses an expired token with 401 auth.expired_token', async () => {
    const { id, token } = await mintToken('order-bot', ['orders'], 60)
    await env.DB.prepare('UPDATE agent_tokens SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, id)
      .run()
    await expectRefused(`Bearer ${token}`, 401, 'auth.expired_token')
  })

  it('refuses a token scoped to one connection on another (no lateral movement)', async () => {
    const { token } = await mintToken('scoped-bot', ['orders'])
    const marker = uniqueMarker('lateral')
    const response = await gatewayFetch(
      '/proxy/billing/invoices',
      asAgent(token, { headers: { 'x-test-marker': marker } })
    )
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'access.denied' })
    expect(await arrivalsWith(marker)).toEqual([])
    // The same token still works where it is scoped.
    const allowed = await gatewayFetch('/proxy/orders/x', asAgent(token))
    expect(allowed.status).toBe(200)
  })

  it('refuses an agent the policy does not grant, even with a wildcard-scoped token', async () => {
    const { token } = await mintToken('stranger-bot', ['*'])
    const response = await gatewayFetch('/proxy/orders/x', asAgent(token))
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'access.denied' })
  })

  it('answers 404 connection.not_found for an unknown connection, and records it', async () => {
    const { token } = await mintToken('order-bot', ['*'])
    const response = await gatewayFetch('/proxy/nowhere/x', asAgent(token))
    expect(await errorOf(response)).toMatchObject({ status: 404, code: 'connection.not_found' })
    await expect
      .poll(async () =>
        (await sessionsOf('agent:order-bot')).some(
          (s) => s.connectionName === 'nowhere' && s.outcome === 'refused'
        )
      )
      .toBe(true)
  })
})

describe('OIDC bearer tokens', () => {
  it('accepts a JWT access token from the real provider (client credentials) and maps its groups', async () => {
    const jwt = await clientCredentialsToken('ci-agent')
    const { response, marker } = await callOrders(`Bearer ${jwt}`)
    expect(response.status).toBe(200)
    expect(await arrivalsWith(marker)).toHaveLength(1)
    const whoami = await gatewayFetch('/v1/whoami', asAgent(jwt))
    const body = (await whoami.json()) as {
      caller: { id: string; idpGroups: string[] }
      principals: string[]
    }
    expect(body.caller).toMatchObject({ id: 'user:ci-agent', idpGroups: ['ci-agents'] })
    expect(body.principals).toEqual(expect.arrayContaining(['idp:ci-agents', 'group:bots']))
  })

  it('refuses a provider token whose groups the policy does not grant', async () => {
    const jwt = await clientCredentialsToken('no-groups')
    const { response } = await callOrders(`Bearer ${jwt}`)
    expect(await errorOf(response)).toMatchObject({ status: 403, code: 'access.denied' })
  })

  it('refuses an expired JWT with 401 auth.expired_token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600
    const jwt = await signedByProvider({ iat: past - 60, exp: past })
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.expired_token')
  })

  it('refuses a JWT for another audience', async () => {
    const jwt = await signedByProvider({ aud: 'some-other-api' })
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.invalid_token')
  })

  it('refuses a JWT from another issuer, even signed with a trusted key', async () => {
    const jwt = await signedByProvider({ iss: 'https://evil.example' })
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.invalid_token')
  })

  it('refuses a JWT that is not yet valid (nbf in the future)', async () => {
    const jwt = await signedByProvider({ nbf: Math.floor(Date.now() / 1000) + 3600 })
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.invalid_token')
  })

  it('refuses an unsigned JWT (alg: none)', async () => {
    await expectRefused(
      `Bearer ${unsignedToken({ sub: 'attacker', groups: ['ci-agents'] })}`,
      401,
      'auth.invalid_token'
    )
  })

  it('refuses an HS256 JWT keyed with the provider public key (algorithm confusion)', async () => {
    const jwt = await hmacWithPublicKey({ sub: 'attacker', groups: ['ci-agents'] })
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.invalid_token')
  })

  it('refuses a JWT signed by a key the provider does not publish', async () => {
    const { privateKey } = await generateKeyPair('ES256')
    const now = Math.floor(Date.now() / 1000)
    const jwt = await new SignJWT({ groups: ['ci-agents'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'test-es256' })
      .setIssuer(inject('oidcIssuer'))
      .setAudience(OIDC_AUDIENCE)
      .setSubject('attacker')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey)
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.invalid_token')
  })

  it('refuses a JWT with a tampered payload', async () => {
    const jwt = await signedByProvider({ sub: 'honest', groups: [] })
    const [header, , signature] = jwt.split('.')
    const payload = btoa(
      JSON.stringify({
        sub: 'honest',
        groups: ['ci-agents'],
        iss: inject('oidcIssuer'),
        aud: OIDC_AUDIENCE,
        exp: 9_999_999_999,
      })
    )
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '')
    await expectRefused(`Bearer ${header}.${payload}.${signature}`, 401, 'auth.invalid_token')
  })

  it('refuses a JWT without a subject', async () => {
    const jwt = await signedByProvider({ sub: undefined })
    await expectRefused(`Bearer ${jwt}`, 401, 'auth.invalid_token')
  })
})
