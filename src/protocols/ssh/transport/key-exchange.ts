/**
 * curve25519-sha256 (RFC 8731) with WebCrypto X25519: the ephemeral key pair, the shared
 * secret, the exchange hash H (RFC 5656 §4) and the keys derived from it (RFC 4253 §7.2).
 */
import { concatBytes } from '../../../encoding.ts'
import { DisconnectReason, SshProtocolError } from '../wire/ssh-error.ts'
import { payload, SshWriter } from '../wire/ssh-writer.ts'

export type Ephemeral = { publicKey: Uint8Array; privateKey: CryptoKey }

export async function ephemeralKey(): Promise<Ephemeral> {
  const pair = (await crypto.subtle.generateKey({ name: 'X25519' }, true, [
    'deriveBits',
  ])) as CryptoKeyPair
  const publicKey = new Uint8Array(
    (await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer
  )
  return { publicKey, privateKey: pair.privateKey }
}

/** The shared secret K; an all-zero result (a low-order peer key) is refused (RFC 8731 §3). */
export async function sharedSecret(own: Ephemeral, peerPublic: Uint8Array): Promise<Uint8Array> {
  if (peerPublic.length !== 32) {
    throw new SshProtocolError(
      'an X25519 public key is not 32 bytes',
      DisconnectReason.KEY_EXCHANGE_FAILED
    )
  }
  const peer = await crypto.subtle.importKey('raw', peerPublic, { name: 'X25519' }, false, [])
  const secret = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: 'X25519', public: peer } as unknown as SubtleCryptoDeriveKeyAlgorithm,
      own.privateKey,
      256
    )
  )
  if (secret.every((byte) => byte === 0)) {
    throw new SshProtocolError(
      'the key exchange produced an all-zero secret',
      DisconnectReason.KEY_EXCHANGE_FAILED
    )
  }
  return secret
}

export type ExchangeHashInput = {
  clientVersion: string
  serverVersion: string
  clientKexInit: Uint8Array
  serverKexInit: Uint8Array
  hostKey: Uint8Array
  clientPublic: Uint8Array
  serverPublic: Uint8Array
  secret: Uint8Array
}

export async function exchangeHash(input: ExchangeHashInput): Promise<Uint8Array> {
  const data = payload((w) =>
    w
      .text(input.clientVersion)
      .text(input.serverVersion)
      .string(input.clientKexInit)
      .string(input.serverKexInit)
      .string(input.hostKey)
      .string(input.clientPublic)
      .string(input.serverPublic)
      .mpint(input.secret)
  )
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data))
}

/** HASH(K || H || letter || session_id), extended with HASH(K || H || K1 || …) to `bytes`. */
export async function deriveKey(
  secret: Uint8Array,
  hash: Uint8Array,
  letter: string,
  sessionId: Uint8Array,
  bytes: number
): Promise<Uint8Array> {
  const k = new SshWriter().mpint(secret).toBytes()
  const first = concatBytes([k, hash, new Uint8Array([letter.charCodeAt(0)]), sessionId])
  let key: Uint8Array = new Uint8Array(await crypto.subtle.digest('SHA-256', first))
  while (key.length < bytes) {
    const more = new Uint8Array(await crypto.subtle.digest('SHA-256', concatBytes([k, hash, key])))
    key = concatBytes([key, more])
  }
  return key.slice(0, bytes)
}
