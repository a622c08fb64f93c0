/**
 * OIDC tokens for tests: real ones from the local provider's token endpoint, and
 * edge-case ones signed with the provider's own key (expired, wrong audience, …).
 */
import { importJWK, type JWK, type JWTPayload, SignJWT } from 'jose'
import { inject } from 'vitest'
import { toBase64Url, utf8 } from '../../../src/encoding.ts'
import { OIDC_AUDIENCE, OIDC_CLIENTS, type OidcClientId } from '../../harness/oidc-clients.ts'

/** A JWT access token from the real provider, via the client-credentials grant. */
export async function clientCredentialsToken(clientId: OidcClientId): Promise<string> {
  const response = await fetch(`${inject('oidcIssuer')}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: OIDC_CLIENTS[clientId].secret,
      scope: 'gateway',
    }),
  })
  const body = (await response.json()) as { access_token?: string; error?: string }
  if (!body.access_token) throw new Error(`token endpoint refused: ${JSON.stringify(body)}`)
  return body.access_token
}

function providerJwk(): JWK {
  return JSON.parse(inject('oidcPrivateJwk')) as JWK
}

/** A token signed with the provider's key; claims default to a valid agent token. */
export async function signedByProvider(
  claims: JWTPayload = {},
  header: { alg?: string; kid?: string } = {}
): Promise<string> {
  const jwk = providerJwk()
  const key = await importJWK(jwk, 'ES256')
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: inject('oidcIssuer'),
    aud: OIDC_AUDIENCE,
    sub: 'crafted-subject',
    iat: now,
    exp: now + 300,
    groups: ['ci-agents'],
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid ?? 'test-es256', ...header })
    .sign(key)
}

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsignedToken(claims: JWTPayload): string {
  const now = Math.floor(Date.now() / 1000)
  const encode = (value: unknown) => toBase64Url(utf8(JSON.stringify(value)))
  const payload = {
    iss: inject('oidcIssuer'),
    aud: OIDC_AUDIENCE,
    iat: now,
    exp: now + 300,
    ...claims,
  }
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`
}

/** HS256 "signed" with the provider's public key as the HMAC secret: the classic confusion attack. */
export async function hmacWithPublicKey(claims: JWTPayload): Promise<string> {
  const { d: _private, ...publicJwk } = providerJwk()
  const secret = utf8(JSON.stringify(publicJwk))
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: inject('oidcIssuer'),
    aud: OIDC_AUDIENCE,
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid ?? 'test-es256' })
    .sign(secret)
}
