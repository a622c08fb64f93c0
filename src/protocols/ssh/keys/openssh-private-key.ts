/**
 * Reads an unencrypted OpenSSH private key file (PROTOCOL.key: `openssh-key-v1`) holding one
 * ed25519 key, as `ssh-keygen -t ed25519 -N ''` writes it. Passphrase-protected keys are
 * refused with a clear message: the credential store already encrypts the key at rest.
 */
import { fromBase64 } from '../../../encoding.ts'
import { SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'

const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----'
const END = '-----END OPENSSH PRIVATE KEY-----'
const MAGIC = 'openssh-key-v1\0'

export class PrivateKeyError extends Error {
  override readonly name = 'PrivateKeyError'
}

/** The 32-byte seed of the ed25519 key in an OpenSSH private key file. */
export function ed25519SeedFromOpenSsh(pem: string): Uint8Array {
  const text = pem.trim()
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) {
    throw new PrivateKeyError('not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)')
  }
  let bytes: Uint8Array
  try {
    bytes = fromBase64(text.slice(BEGIN.length, -END.length).replace(/\s+/g, ''))
  } catch {
    throw new PrivateKeyError('the private key is not valid base64')
  }
  try {
    return readKey(bytes)
  } catch (error) {
    if (error instanceof PrivateKeyError) throw error
    throw new PrivateKeyError(`the private key is malformed: ${(error as Error).message}`)
  }
}

function readKey(bytes: Uint8Array): Uint8Array {
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length))
  if (magic !== MAGIC) throw new PrivateKeyError('not an openssh-key-v1 key')
  const reader = new SshReader(bytes, MAGIC.length)
  const cipher = reader.text()
  const kdf = reader.text()
  reader.string()
  if (cipher !== 'none' || kdf !== 'none') {
    throw new PrivateKeyError(
      'the private key is passphrase-protected; store it unencrypted (ssh-keygen -p -N "")'
    )
  }
  if (reader.uint32() !== 1) throw new PrivateKeyError('the file must hold exactly one key')
  reader.string()
  const secret = new SshReader(reader.string())
  // Two equal check words: how OpenSSH tells a wrong passphrase; here, a damaged file.
  const check = secret.uint32()
  if (check !== secret.uint32()) throw new SshProtocolError('check bytes differ')
  const type = secret.text()
  if (type !== 'ssh-ed25519') {
    throw new PrivateKeyError(`only ed25519 user keys are supported, not ${type}`)
  }
  const publicKey = secret.string()
  const privateKey = secret.string()
  if (publicKey.length !== 32 || privateKey.length !== 64) {
    throw new SshProtocolError('ed25519 key lengths are wrong')
  }
  return privateKey.slice(0, 32)
}
