import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config.ts'

const VALID = {
  ADMIN_TOKEN: 'x'.repeat(32),
  CREDENTIALS_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(1))),
}

function problem(env: Record<string, unknown>): string {
  try {
    loadConfig(env)
  } catch (error) {
    return (error as Error).message
  }
  return 'no error'
}

describe('configuration', () => {
  it('applies defaults when only the secrets are set', () => {
    const config = loadConfig({ ...VALID })
    expect(config.oidc).toBeUndefined()
    expect(config.limits).toEqual({
      maxBodyBytes: 10_485_760,
      inlineBodyBytes: 65_536,
      originTimeoutMs: 30_000,
    })
  })

  it('names a missing secret', () => {
    expect(problem({ CREDENTIALS_KEY: VALID.CREDENTIALS_KEY })).toBe(
      'Gateway configuration is invalid: ADMIN_TOKEN is required (a Worker secret)'
    )
  })

  it('names a short admin token and a key of the wrong size together', () => {
    expect(problem({ ADMIN_TOKEN: 'short', CREDENTIALS_KEY: btoa('sixteen bytes!!!') })).toBe(
      'Gateway configuration is invalid: ADMIN_TOKEN must be at least 32 characters; CREDENTIALS_KEY must be 32 random bytes in base64 (openssl rand -base64 32)'
    )
  })

  it('refuses symmetric and unsigned JWT algorithms', () => {
    expect(
      problem({ ...VALID, OIDC_ISSUER: 'https://idp.example', OIDC_ALGORITHMS: 'RS256,HS256,none' })
    ).toBe(
      'Gateway configuration is invalid: OIDC_ALGORITHMS.1 must list only asymmetric JWS algorithms (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA); OIDC_ALGORITHMS.2 must list only asymmetric JWS algorithms (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)'
    )
  })

  it('refuses a non-numeric limit', () => {
    expect(problem({ ...VALID, MAX_BODY_BYTES: '10MB' })).toBe(
      'Gateway configuration is invalid: MAX_BODY_BYTES must be a positive integer'
    )
  })

  it('configures OIDC from the issuer with default audience, claim and algorithms', () => {
    expect(
      loadConfig({ ...VALID, OIDC_ISSUER: 'https://idp.example/', OIDC_AUDIENCE: '' }).oidc
    ).toEqual({
      issuer: 'https://idp.example/',
      audience: 'gatehouse',
      groupsClaim: 'groups',
      jwksUri: undefined,
      algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
    })
  })
})
