/**
 * The gateway's Ed25519 key (RFC 8032), which signs each session's closing manifest.
 * SIGNING_KEY is its 32-byte seed; without it the seed is derived from CREDENTIALS_KEY so
 * local development signs too. WebCrypto only, so the CLI (Node) verifies with this file.
 */
import { z } from 'zod'
import { hkdfSha256, toBase64Url } from '../encoding.ts'

/** HKDF info of the seed derived from CREDENTIALS_KEY when SIGNING_KEY is not set. */
const DERIVED_SEED_INFO = 'gatehouse transcript signing v1'
const SEED_BYTES = 32
const SIGNATURE_BYTES = 64
/** RFC 8410 §7: a PKCS#8 Ed25519 private key is this DER prefix followed by the 32-byte seed. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20
)
const ED25519 = { name: 'Ed25519' }
/** A kid is this many base64url characters of the SHA-256 of the raw public key. */
const KID_CHARS = 16

/** One public key as served at /.well-known/gatehouse/signing-keys (RFC 8037 OKP JWK). */
export const SigningJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url Ed25519 public key'),
  kid: z.string().min(1),
  alg: z.literal('EdDSA').optional(),
  use: z.literal('sig').optional(),
})
export type SigningJwk = z.infer<typeof SigningJwk>

/** A JWK set; keys of other types are ignored, as RFC 7517 §5 asks. */
export const SigningKeySet = z.object({ keys: z.array(z.unknown()) }).transform(({ keys }) =>
  keys.flatMap((key) => {
    const parsed = SigningJwk.safeParse(key)
    return parsed.success ? [parsed.data] : []
  })
)

/** WebCrypto's key type, named the same way under workers-types and Node's types. */
type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

export type SigningKey = {
  kid: string
  privateKey: WebCryptoKey
  publicJwk: SigningJwk
}

type SigningConfig = { signingSeed: Uint8Array | undefined; credentialsKey: Uint8Array }

const keys = new WeakMap<Uint8Array, Promise<SigningKey>>()

/** The gateway's signing key from its config; imported once per isolate. */
export function signingKeyOf(config: SigningConfig): Promise<SigningKey> {
  const secret = config.signingSeed ?? config.credentialsKey
  let key = keys.get(secret)
  if (!key) {
    key = (config.signingSeed ? Promise.resolve(config.signingSeed) : deriveSeed(secret)).then(
      importSigningSeed
    )
    key.catch(() => keys.delete(secret))
    keys.set(secret, key)
  }
  return key
}

/**
 * The keys a manifest may be signed by: the current one, then each retired one (public
 * only), as the gateway publishes and trusts them. A rotated key must stay here for as
 * long as sessions it signed are kept, or they read as `bad_signature`.
 */
export async function publishedSigningKeys(
  config: SigningConfig & { retiredSigningKeys: readonly string[] }
): Promise<SigningJwk[]> {
  const current = await signingKeyOf(config)
  const retired = await Promise.all(
    config.retiredSigningKeys
      .filter((x) => x !== current.publicJwk.x)
      .map(
        async (x): Promise<SigningJwk> => ({
          kty: 'OKP',
          crv: 'Ed25519',
          x,
          kid: await keyIdOf(x),
          alg: 'EdDSA',
          use: 'sig',
        })
      )
  )
  return [current.publicJwk, ...retired]
}

/** HKDF-SHA256 (RFC 5869), no salt, of CREDENTIALS_KEY: one key per purpose. */
function deriveSeed(credentialsKey: Uint8Array): Promise<Uint8Array> {
  return hkdfSha256(credentialsKey, DERIVED_SEED_INFO, SEED_BYTES)
}

/** Imports a 32-byte Ed25519 seed and computes its public JWK and kid. */
export async function importSigningSeed(seed: Uint8Array): Promise<SigningKey> {
  if (seed.length !== SEED_BYTES) throw new Error(`an Ed25519 seed is ${SEED_BYTES} bytes`)
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + SEED_BYTES)
  pkcs8.set(PKCS8_ED25519_PREFIX)
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length)
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, true, ['sign'])
  // The private JWK carries the public key as `x` (RFC 8037 §2).
  const { x } = (await crypto.subtle.exportKey('jwk', privateKey)) as { x?: string }
  if (!x) throw new Error('the runtime did not export the Ed25519 public key')
  const kid = await keyIdOf(x)
  // Exported only to learn `x`; signing needs no extractable key.
  const signing = await crypto.subtle.importKey('pkcs8', pkcs8, ED25519, false, ['sign'])
  return {
    kid,
    privateKey: signing,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
  }
}

/** base64url SHA-256 of the raw public key, first 16 characters. */
export async function keyIdOf(x: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', fromBase64Url(x))
  return toBase64Url(new Uint8Array(digest)).slice(0, KID_CHARS)
}

/** Ed25519 signature of `bytes`, base64url. */
export async function signBytes(key: SigningKey, bytes: Uint8Array): Promise<string> {
  const signature = await crypto.subtle.sign(ED25519, key.privateKey, bytes)
  return toBase64Url(new Uint8Array(signature))
}

export type SignatureCheck = 'valid' | 'invalid' | 'unknown_key'

/** Checks a base64url Ed25519 signature over `bytes` by the key named `kid` in `jwks`. */
export async function checkSignature(
  jwks: readonly SigningJwk[],
  kid: string,
  bytes: Uint8Array,
  signature: string
): Promise<SignatureCheck> {
  const jwk = jwks.find((candidate) => candidate.kid === kid)
  // A kid is only a name: the key must also hash to it, or a JWKS could claim any kid.
  if (!jwk || (await keyIdOf(jwk.x)) !== kid) return 'unknown_key'
  let raw: Uint8Array
  try {
    raw = fromBase64Url(signature)
  } catch {
    return 'invalid'
  }
  // One encoding per signature: atob ignores stray low bits in the last character.
  if (raw.length !== SIGNATURE_BYTES || toBase64Url(raw) !== signature) return 'invalid'
  try {
    const publicKey = await crypto.subtle.importKey('raw', fromBase64Url(jwk.x), ED25519, false, [
      'verify',
    ])
    return (await crypto.subtle.verify(ED25519, publicKey, raw, bytes)) ? 'valid' : 'invalid'
  } catch {
    // Runtimes refuse some malformed keys and signatures outright instead of answering false.
    return 'invalid'
  }
}

/** Decodes base64url without padding (RFC 4648 §5); throws on anything else. */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url')
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/')
  return Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (char) =>
    char.charCodeAt(0)
  )
}
