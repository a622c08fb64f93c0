/**
 * Seals connection credentials with AES-256-GCM under CREDENTIALS_KEY. The connection id
 * is bound in as additional data, so a sealed credential copied onto another connection
 * row fails to open instead of leaking to the wrong target.
 */
import { fromBase64, toBase64, utf8 } from '../encoding.ts'

const SEAL_VERSION = 'v1'
const IV_BYTES = 12

const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>()

function importKey(raw: Uint8Array): Promise<CryptoKey> {
  let key = keys.get(raw)
  if (!key) {
    key = crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
    keys.set(raw, key)
  }
  return key
}

function additionalData(connectionId: string): Uint8Array {
  return utf8(`gatehouse:credential:${SEAL_VERSION}:${connectionId}`)
}

export async function sealCredential(
  rawKey: Uint8Array,
  connectionId: string,
  credential: unknown
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: additionalData(connectionId) },
    await importKey(rawKey),
    utf8(JSON.stringify(credential))
  )
  return `${SEAL_VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`
}

/** Opens a sealed credential; throws if the key, the connection id or the bytes are wrong. */
export async function openCredential(
  rawKey: Uint8Array,
  connectionId: string,
  sealed: string
): Promise<unknown> {
  const [version, iv, ciphertext] = sealed.split('.')
  if (version !== SEAL_VERSION || !iv || !ciphertext) {
    throw new Error('sealed credential has an unknown format')
  }
  const plaintext = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64(iv), additionalData: additionalData(connectionId) },
    await importKey(rawKey),
    fromBase64(ciphertext)
  )
  return JSON.parse(new TextDecoder().decode(plaintext))
}
