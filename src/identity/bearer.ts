/** Reads the caller's credential from `Authorization: Bearer …` (RFC 6750 §2.1). */
import { GatehouseError } from '../errors.ts'

/** RFC 6750 b64token: what a bearer credential may contain. */
const B64_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const MAX_TOKEN_LENGTH = 16 * 1024

export function readBearerToken(authorization: string | null | undefined): string {
  if (!authorization) {
    throw new GatehouseError(
      'auth.missing_token',
      'Send a Gatehouse agent token or an OIDC access token as "Authorization: Bearer <token>".'
    )
  }
  const match = /^Bearer +(\S+) *$/i.exec(authorization)
  const token = match?.[1]
  if (!token || token.length > MAX_TOKEN_LENGTH || !B64_TOKEN.test(token)) {
    throw new GatehouseError(
      'auth.malformed_token',
      'The Authorization header must be "Bearer <token>" with a single well-formed token.'
    )
  }
  return token
}
