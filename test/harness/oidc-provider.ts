/**
 * A real OpenID Provider (the `oidc-provider` package) for the tests. Machine clients get
 * JWT access tokens for the gateway through the client-credentials grant, the way an
 * agent's runtime would; each client carries the groups an IdP would assert.
 */

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import Provider from 'oidc-provider'
import { OIDC_AUDIENCE, OIDC_CLIENTS } from './oidc-clients.ts'

const RESOURCE = 'urn:gatehouse:test'

export type OidcProviderHandle = {
  issuer: string
  /** The provider's signing key, so tests can mint edge-case tokens the IdP itself would sign. */
  privateJwk: JWK
  close: () => Promise<void>
}

export async function startOidcProvider(): Promise<OidcProviderHandle> {
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

  const provider = new Provider(issuer, {
    clients: Object.entries(OIDC_CLIENTS).map(([clientId, client]) => ({
      client_id: clientId,
      client_secret: client.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
    })),
    jwks: { keys: [privateJwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
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
