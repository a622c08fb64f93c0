/**
 * A real OpenID Provider (the `oidc-provider` package) for the tests. Machine clients get
 * JWT access tokens for the gateway through the client-credentials grant, the way an
 * agent's runtime would; each client carries the groups an IdP would assert. People
 * (TEST_PEOPLE) sign in to the gateway's approval page through the authorization-code
 * client, at the provider's development login form (any password is accepted).
 */

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import Provider, { type ClientMetadata } from 'oidc-provider'
import {
  APPROVALS_CLIENT,
  OIDC_AUDIENCE,
  OIDC_CLIENTS,
  TEST_PEOPLE,
  type TestPerson,
} from './oidc-clients.ts'

const RESOURCE = 'urn:gatehouse:test'

export type OidcProviderHandle = {
  issuer: string
  /** The provider's signing key, so tests can mint edge-case tokens the IdP itself would sign. */
  privateJwk: JWK
  close: () => Promise<void>
}

export type OidcProviderOptions = {
  /** Where the approval sign-in client may be sent back to (the gateway's `/auth/callback`). */
  redirectUris?: string[]
}

export async function startOidcProvider(
  options: OidcProviderOptions = {}
): Promise<OidcProviderHandle> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const privateJwk = {
    ...(await exportJWK(privateKey)),
    kid: 'test-es256',
    alg: 'ES256',
    use: 'sig',
  }

  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const machineClients: ClientMetadata[] = Object.entries(OIDC_CLIENTS).map(
    ([clientId, client]) => ({
      client_id: clientId,
      client_secret: client.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
    })
  )
  const approvalsClient: ClientMetadata = {
    client_id: APPROVALS_CLIENT.id,
    client_secret: APPROVALS_CLIENT.secret,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: options.redirectUris ?? [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }

  const provider = new Provider(issuer, {
    clients: [...machineClients, approvalsClient],
    jwks: { keys: [privateJwk] },
    cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
    // Every client must use PKCE, including the confidential approvals client.
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'groups'],
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
    // Put the scoped claims into the ID token itself (as common IdPs do), not only userinfo.
    conformIdTokenClaims: false,
    findAccount: (_ctx, accountId) => {
      const person = TEST_PEOPLE[accountId as TestPerson] as
        | (typeof TEST_PEOPLE)[TestPerson]
        | undefined
      return {
        accountId,
        claims: () => ({
          sub: accountId,
          ...(person ? { email: person.email, groups: [...person.groups] } : { groups: [] }),
        }),
      }
    },
    features: {
      // The provider's own login and consent forms: any login name, any password.
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Only the machine clients get gateway access tokens; sign-in has no resource.
        defaultResource: (_ctx, client) =>
          client?.clientId === APPROVALS_CLIENT.id ? undefined : RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'gateway',
          audience: OIDC_AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const clientId = 'clientId' in token ? String(token.clientId) : ''
      const client = OIDC_CLIENTS[clientId as keyof typeof OIDC_CLIENTS]
      return { groups: client ? [...client.groups] : [] }
    },
  })
  server.on('request', provider.callback())

  return {
    issuer,
    privateJwk,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
