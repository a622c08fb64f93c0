/**
 * Verifies OIDC/JWT bearer tokens with jose against the configured issuer's JWKS.
 * Keys are fetched through discovery and cached per isolate; only asymmetric
 * algorithms from the allow-list are accepted, so `alg: none` and HS256-with-the-
 * public-key forgeries fail before any signature check.
 */
import {
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose'
import { z } from 'zod'
import type { OidcConfig } from '../config.ts'
import { GatehouseError } from '../errors.ts'

/** How long discovery documents and key sets are reused before re-fetching. */
const JWKS_CACHE_MS = 10 * 60_000
/** A key id we have not seen triggers a refetch at most this often. */
const JWKS_COOLDOWN_MS = 30_000
const JWKS_TIMEOUT_MS = 5_000
/** Tolerated clock skew between the IdP and the edge. */
const CLOCK_TOLERANCE_SECONDS = 30

const DiscoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.url() })

const keySets = new Map<string, JWTVerifyGetKey>()
const discovered = new Map<string, { jwksUri: Promise<string>; at: number }>()

export type VerifiedOidcToken = {
  subject: string
  email: string | undefined
  groups: string[]
  issuer: string
}

/** Verifies a JWT and returns its identity; throws `auth.*` errors otherwise. */
export async function verifyOidcToken(
  token: string,
  config: OidcConfig,
  now: number
): Promise<VerifiedOidcToken> {
  const payload = await verifyJwt(token, config, now, config.audience, ['exp', 'sub'])
  return identityOf(payload, config, 'the token has no subject')
}

/**
 * Verifies an ID token from the authorization-code sign-in (OpenID Connect Core §3.1.3.7)
 * with the same keys and algorithms as access tokens, but addressed to the sign-in client
 * and bound to the sign-in's nonce. Throws `auth.*` errors otherwise.
 */
export async function verifyIdToken(
  idToken: string,
  config: OidcConfig,
  expected: { clientId: string; nonce: string },
  now: number
): Promise<VerifiedOidcToken> {
  const payload = await verifyJwt(idToken, config, now, expected.clientId, [
    'exp',
    'iat',
    'sub',
    'nonce',
  ])
  if (payload.nonce !== expected.nonce) throw invalidToken('the ID token nonce does not match')
  // §3.1.3.7 item 4-5: a token for several audiences must name us as the authorized party.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== expected.clientId) {
    throw invalidToken('the ID token was issued to another authorized party')
  }
  return identityOf(payload, config, 'the ID token has no subject')
}

/** Signature, issuer, audience, algorithm and time checks shared by both token kinds. */
async function verifyJwt(
  token: string,
  config: OidcConfig,
  now: number,
  audience: string,
  requiredClaims: string[]
): Promise<JWTPayload> {
  const keys = await keySetFor(config, now)
  try {
    const verified = await jwtVerify(token, keys, {
      issuer: config.issuer,
      audience,
      algorithms: config.algorithms,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(now),
      requiredClaims,
    })
    return verified.payload
  } catch (error) {
    throw mapJoseError(error)
  }
}

function identityOf(payload: JWTPayload, config: OidcConfig, noSubject: string): VerifiedOidcToken {
  if (!payload.sub) throw invalidToken(noSubject)
  return {
    subject: payload.sub,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    groups: readGroups(payload, config.groupsClaim),
    issuer: config.issuer,
  }
}

/** Reads the groups claim; a dotted name reaches into nested claims (e.g. `realm_access.roles`). */
export function readGroups(payload: JWTPayload, claim: string): string[] {
  let value: unknown = payload
  for (const part of claim.split('.')) {
    value =
      value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined
  }
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean)
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return []
}

async function keySetFor(config: OidcConfig, now: number): Promise<JWTVerifyGetKey> {
  const jwksUri = config.jwksUri ?? (await discoverJwksUri(config.issuer, now))
  let keys = keySets.get(jwksUri)
  if (!keys) {
    keys = createRemoteJWKSet(new URL(jwksUri), {
      cacheMaxAge: JWKS_CACHE_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      timeoutDuration: JWKS_TIMEOUT_MS,
    })
    keySets.set(jwksUri, keys)
  }
  return keys
}

/** OpenID Connect Discovery 1.0 §4: the document's issuer must be exactly ours. */
function discoverJwksUri(issuer: string, now: number): Promise<string> {
  const cached = discovered.get(issuer)
  if (cached && now - cached.at < JWKS_CACHE_MS) return cached.jwksUri
  const jwksUri = (async () => {
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    let response: Response
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) })
    } catch (error) {
      throw providerUnavailable(`discovery fetch failed: ${String(error)}`)
    }
    if (!response.ok) throw providerUnavailable(`discovery answered ${response.status}`)
    const document = DiscoveryDocument.safeParse(await response.json().catch(() => null))
    if (!document.success || document.data.issuer !== issuer) {
      throw providerUnavailable('discovery document is invalid or names another issuer')
    }
    return document.data.jwks_uri
  })()
  discovered.set(issuer, { jwksUri, at: now })
  // A failed discovery must not be cached.
  jwksUri.catch(() => discovered.delete(issuer))
  return jwksUri
}

function mapJoseError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error
  if (error instanceof joseErrors.JWTExpired) {
    return new GatehouseError('auth.expired_token', 'The token has expired; get a new one.', {
      detail: error.message,
    })
  }
  if (error instanceof joseErrors.JWKSTimeout) {
    return providerUnavailable(error.message)
  }
  if (error instanceof joseErrors.JOSEError) return invalidToken(`${error.code}: ${error.message}`)
  // Anything else (network failure fetching keys, bad JWKS) is the provider's side.
  return providerUnavailable(error instanceof Error ? error.message : String(error))
}

function invalidToken(detail: string): GatehouseError {
  return new GatehouseError('auth.invalid_token', 'The token is not valid for this gateway.', {
    detail,
  })
}

function providerUnavailable(detail: string): GatehouseError {
  return new GatehouseError(
    'auth.provider_unavailable',
    'The identity provider could not be reached to verify the token. Try again shortly.',
    { detail }
  )
}
