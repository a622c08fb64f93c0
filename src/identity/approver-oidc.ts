/**
 * The approver's sign-in at the IdP: OpenID Connect authorization code flow with PKCE
 * (S256), state and nonce, built on oauth4webapi (discovery, the authorization response
 * checks incl. RFC 9207 `iss`, the code exchange). oauth4webapi leaves the ID token's
 * signature to us, so it is then verified with jose against the issuer's JWKS, the same
 * cached key set that verifies bearer tokens.
 */
import * as oauth from 'oauth4webapi'
import type { OidcConfig, OidcLoginConfig } from '../config.ts'
import { GatehouseError } from '../errors.ts'
import { type VerifiedOidcToken, verifyIdToken } from './oidc.ts'

/** How long the discovered metadata is reused before fetching it again. */
const DISCOVERY_CACHE_MS = 10 * 60_000
const IDP_TIMEOUT_MS = 5_000
/** `groups` is not a standard scope, but IdPs that release a groups claim commonly need it. */
const SIGN_IN_SCOPE = 'openid email groups'
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

const discovered = new Map<string, { server: Promise<oauth.AuthorizationServer>; at: number }>()

/** What the browser must bring back to the callback, kept in the signed login cookie. */
export type SignInSecrets = { state: string; nonce: string; verifier: string }

/** Where to send the browser to sign in, and the secrets that bind the answer to it. */
export async function startSignIn(
  oidc: OidcConfig,
  login: OidcLoginConfig,
  redirectUri: string,
  now: number
): Promise<{ url: URL; secrets: SignInSecrets }> {
  const server = await discover(oidc.issuer, now)
  if (!server.authorization_endpoint) {
    throw loginFailed('the issuer metadata has no authorization_endpoint')
  }
  const secrets: SignInSecrets = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
  }
  const url = new URL(server.authorization_endpoint)
  url.search = new URLSearchParams({
    client_id: login.clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: SIGN_IN_SCOPE,
    state: secrets.state,
    nonce: secrets.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(secrets.verifier),
    code_challenge_method: 'S256',
  }).toString()
  return { url, secrets }
}

/**
 * Checks the IdP's answer at the callback against the secrets of the sign-in it belongs
 * to, exchanges the code and verifies the ID token. Throws `auth.login_failed`, or
 * `auth.provider_unavailable` when the IdP cannot be reached.
 */
export async function finishSignIn(
  oidc: OidcConfig,
  login: OidcLoginConfig,
  redirectUri: string,
  callbackUrl: URL,
  secrets: SignInSecrets,
  now: number
): Promise<VerifiedOidcToken> {
  const server = await discover(oidc.issuer, now)
  const client: oauth.Client = { client_id: login.clientId }
  const clientAuth = login.clientSecret ? oauth.ClientSecretBasic(login.clientSecret) : oauth.None()
  let idToken: string
  try {
    const parameters = oauth.validateAuthResponse(server, client, callbackUrl, secrets.state)
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      client,
      clientAuth,
      parameters,
      redirectUri,
      secrets.verifier,
      requestOptions(oidc.issuer)
    )
    const tokens = await oauth.processAuthorizationCodeResponse(server, client, response, {
      expectedNonce: secrets.nonce,
      requireIdToken: true,
    })
    idToken = tokens.id_token ?? ''
  } catch (error) {
    throw signInError(error)
  }
  try {
    return await verifyIdToken(
      idToken,
      oidc,
      { clientId: login.clientId, nonce: secrets.nonce },
      now
    )
  } catch (error) {
    if (error instanceof GatehouseError && error.code === 'auth.provider_unavailable') throw error
    throw loginFailed(
      `ID token rejected: ${error instanceof GatehouseError ? error.detail : error}`
    )
  }
}

/** OpenID Connect Discovery 1.0, cached per isolate; a failure is not cached. */
function discover(issuer: string, now: number): Promise<oauth.AuthorizationServer> {
  const cached = discovered.get(issuer)
  if (cached && now - cached.at < DISCOVERY_CACHE_MS) return cached.server
  const issuerUrl = new URL(issuer)
  const server = oauth
    .discoveryRequest(issuerUrl, requestOptions(issuer))
    .then((response) => oauth.processDiscoveryResponse(issuerUrl, response))
    .catch((error: unknown) => {
      discovered.delete(issuer)
      throw providerUnavailable(`discovery failed: ${describe(error)}`)
    })
  discovered.set(issuer, { server, at: now })
  return server
}

/** Plain HTTP only to an IdP on this machine (development and tests), never beyond it. */
function requestOptions(issuer: string): {
  signal: () => AbortSignal
  [oauth.allowInsecureRequests]: boolean
} {
  const url = new URL(issuer)
  return {
    signal: () => AbortSignal.timeout(IDP_TIMEOUT_MS),
    [oauth.allowInsecureRequests]: url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname),
  }
}

function signInError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error
  if (error instanceof oauth.AuthorizationResponseError) {
    // Only the registered error code is shown: the description is whatever the URL says.
    return loginFailed(
      `the IdP answered ${error.error}`,
      `The identity provider refused the sign-in (${error.error}).`
    )
  }
  if (error instanceof oauth.ResponseBodyError) {
    return loginFailed(`token endpoint: ${error.error} ${error.error_description ?? ''}`.trim())
  }
  if (error instanceof oauth.OperationProcessingError) return loginFailed(describe(error))
  // fetch failures are TypeErrors without a code (oauth4webapi's own carry `ERR_…` codes).
  const networkFailure = error instanceof TypeError && !('code' in error)
  if (networkFailure || (error instanceof Error && error.name === 'TimeoutError')) {
    return providerUnavailable(describe(error))
  }
  return loginFailed(describe(error))
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function loginFailed(
  detail: string,
  message = 'The sign-in could not be completed. Start again from the approval link.'
): GatehouseError {
  return new GatehouseError('auth.login_failed', message, { detail })
}

function providerUnavailable(detail: string): GatehouseError {
  return new GatehouseError(
    'auth.provider_unavailable',
    'The identity provider could not be reached to sign you in. Try again shortly.',
    { detail }
  )
}
