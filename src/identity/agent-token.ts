/**
 * Gatehouse agent tokens: `gha_` + 32 random bytes (base64url). Only the SHA-256 of the
 * whole token is stored; the secret is shown once, at creation.
 */
import { sha256Hex, toBase64Url } from '../encoding.ts'

export const AGENT_TOKEN_PREFIX = 'gha_'
const AGENT_TOKEN_BYTES = 32
/** 32 bytes in unpadded base64url are 43 characters. */
const AGENT_TOKEN_PATTERN = /^gha_[A-Za-z0-9_-]{43}$/
const HINT_LENGTH = 10

export type MintedAgentToken = {
  /** The secret, to hand to the agent once. */
  token: string
  hash: string
  /** A prefix safe to display, so people can tell tokens apart. */
  hint: string
}

export async function mintAgentToken(): Promise<MintedAgentToken> {
  const secret = crypto.getRandomValues(new Uint8Array(AGENT_TOKEN_BYTES))
  const token = `${AGENT_TOKEN_PREFIX}${toBase64Url(secret)}`
  return { token, hash: await hashAgentToken(token), hint: token.slice(0, HINT_LENGTH) }
}

/** SHA-256 is enough here: the secret has 256 bits of entropy, so there is nothing to brute-force. */
export function hashAgentToken(token: string): Promise<string> {
  return sha256Hex(token)
}

export function isAgentTokenShaped(token: string): boolean {
  return AGENT_TOKEN_PATTERN.test(token)
}

export function newTokenId(): string {
  return `tok_${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`
}
