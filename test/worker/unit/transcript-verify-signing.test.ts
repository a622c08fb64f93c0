import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config.ts'
import { toHex, utf8 } from '../../../src/encoding.ts'
import {
  checkSignature,
  fromBase64Url,
  importSigningSeed,
  keyIdOf,
  signBytes,
  signingKeyOf,
} from '../../../src/evidence/signing-key.ts'

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (byte) => parseInt(byte, 16))

describe('the manifest signing key', () => {
  it('signs like RFC 8032 §7.1 test 1 (a seed wrapped as PKCS#8)', async () => {
    const key = await importSigningSeed(
      hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
    )
    expect(toHex(fromBase64Url(key.publicJwk.x))).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
    )
    expect(toHex(fromBase64Url(await signBytes(key, new Uint8Array(0))))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
    )
  })

  it('names the key by the first 16 base64url characters of the SHA-256 of its public key', async () => {
    const key = await importSigningSeed(new Uint8Array(32).fill(1))
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', fromBase64Url(key.publicJwk.x))
    )
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(key.kid).toBe(await keyIdOf(key.publicJwk.x))
    expect(fromBase64Url(`${key.kid}AA`).slice(0, 12)).toEqual(digest.slice(0, 12))
    expect(key.publicJwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: key.publicJwk.x,
      kid: key.kid,
      alg: 'EdDSA',
      use: 'sig',
    })
  })

  it('uses SIGNING_KEY as the seed when it is set', async () => {
    const seed = new Uint8Array(32).fill(42)
    const config = loadConfig({ ...env, SIGNING_KEY: btoa(String.fromCharCode(...seed)) })
    expect(config.signingSeed).toEqual(seed)
    const key = await signingKeyOf(config)
    expect(key.publicJwk).toEqual((await importSigningSeed(seed)).publicJwk)
  })

  it('derives a seed from CREDENTIALS_KEY (HKDF) when SIGNING_KEY is not set, the same each time', async () => {
    const config = loadConfig({ ...env })
    expect(config.signingSeed).toBeUndefined()
    const first = await signingKeyOf(config)
    const again = await signingKeyOf(loadConfig({ ...env }))
    expect(again.publicJwk).toEqual(first.publicJwk)
    // Not the credentials key used as a seed directly.
    expect(first.publicJwk).not.toEqual((await importSigningSeed(config.credentialsKey)).publicJwk)
  })

  it('refuses a SIGNING_KEY that is not 32 bytes of base64, naming the variable', () => {
    expect(() => loadConfig({ ...env, SIGNING_KEY: 'c2hvcnQ=' })).toThrow(
      /SIGNING_KEY must be 32 random bytes in base64/
    )
  })

  it('accepts only a canonical, valid signature by the named key', async () => {
    const key = await importSigningSeed(new Uint8Array(32).fill(3))
    const bytes = utf8('evidence')
    const signature = await signBytes(key, bytes)
    expect(await checkSignature([key.publicJwk], key.kid, bytes, signature)).toBe('valid')
    expect(await checkSignature([key.publicJwk], key.kid, utf8('evidencE'), signature)).toBe(
      'invalid'
    )
    expect(await checkSignature([key.publicJwk], 'another-kid', bytes, signature)).toBe(
      'unknown_key'
    )
    expect(await checkSignature([key.publicJwk], key.kid, bytes, `${signature}A`)).toBe('invalid')
    expect(await checkSignature([key.publicJwk], key.kid, bytes, 'not base64url!')).toBe('invalid')
  })
})
