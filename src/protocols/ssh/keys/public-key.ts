/**
 * SSH public keys (RFC 4253 §6.6, RFC 8709, RFC 8332): parsed from blobs and OpenSSH lines,
 * compared byte for byte for pinning, and used to verify signatures with WebCrypto.
 * `ssh-rsa` signatures (SHA-1) are refused; RSA keys verify rsa-sha2-256 and -512 only.
 */
import { fromBase64, toBase64 } from '../../../encoding.ts'
import { SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'

export type PublicKey =
  | { type: 'ssh-ed25519'; blob: Uint8Array; key: Uint8Array }
  | { type: 'ssh-rsa'; blob: Uint8Array; e: Uint8Array; n: Uint8Array }

/** Signature algorithms a key of each type may use, best first. */
export const SIGNATURE_ALGORITHMS: Record<PublicKey['type'], readonly string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256'],
}

const MIN_RSA_BITS = 2048

export function parsePublicKeyBlob(blob: Uint8Array): PublicKey {
  const reader = new SshReader(blob)
  const type = reader.text()
  if (type === 'ssh-ed25519') {
    const key = reader.string()
    reader.end('an ed25519 key')
    if (key.length !== 32) throw new SshProtocolError('an ed25519 key is not 32 bytes')
    return { type, blob, key }
  }
  if (type === 'ssh-rsa') {
    const e = reader.mpint()
    const n = reader.mpint()
    reader.end('an RSA key')
    if (n.length * 8 < MIN_RSA_BITS)
      throw new SshProtocolError(`RSA keys under ${MIN_RSA_BITS} bits are refused`)
    return { type, blob, e, n }
  }
  throw new SshProtocolError(`unsupported key type ${JSON.stringify(type.slice(0, 40))}`)
}

/** `ssh-ed25519 AAAA… comment` → the key (the comment is ignored; the type must match the blob). */
export function parsePublicKeyLine(line: string): PublicKey {
  const [type, base64] = line.trim().split(/\s+/)
  if (!type || !base64) throw new SshProtocolError('not an OpenSSH public key line')
  const key = parsePublicKeyBlob(fromBase64(base64))
  if (key.type !== type)
    throw new SshProtocolError(`the key line says ${type} but holds ${key.type}`)
  return key
}

/** The OpenSSH one-line form of a key. */
export function publicKeyLine(key: PublicKey): string {
  return `${key.type} ${toBase64(key.blob)}`
}

/** `SHA256:…`, as `ssh-keygen -l` prints it. */
export async function fingerprint(blob: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', blob))
  return `SHA256:${toBase64(digest).replace(/=+$/, '')}`
}

export function sameKey(a: PublicKey, b: PublicKey): boolean {
  if (a.blob.length !== b.blob.length) return false
  let diff = 0
  for (let i = 0; i < a.blob.length; i++) diff |= (a.blob[i] as number) ^ (b.blob[i] as number)
  return diff === 0
}

/** Verifies a signature blob (`string algorithm, string signature`) over `data`. */
export async function verifySignature(
  key: PublicKey,
  signatureBlob: Uint8Array,
  data: Uint8Array
): Promise<boolean> {
  const reader = new SshReader(signatureBlob)
  const algorithm = reader.text()
  const signature = reader.string()
  reader.end('a signature')
  if (!SIGNATURE_ALGORITHMS[key.type].includes(algorithm)) return false
  if (key.type === 'ssh-ed25519') {
    const imported = await crypto.subtle.importKey('raw', key.key, { name: 'Ed25519' }, false, [
      'verify',
    ])
    return crypto.subtle.verify({ name: 'Ed25519' }, imported, signature, data)
  }
  const hash = algorithm === 'rsa-sha2-512' ? 'SHA-512' : 'SHA-256'
  const imported = await crypto.subtle.importKey(
    'jwk',
    { kty: 'RSA', e: base64Url(key.e), n: base64Url(key.n), ext: true },
    { name: 'RSASSA-PKCS1-v1_5', hash },
    false,
    ['verify']
  )
  // RFC 8332 §3: the signature is the full modulus length; some signers drop leading zeros.
  const padded = new Uint8Array(key.n.length)
  if (signature.length > padded.length) return false
  padded.set(signature, padded.length - signature.length)
  return crypto.subtle.verify('RSASSA-PKCS1-v1_5', imported, padded, data)
}

function base64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}
