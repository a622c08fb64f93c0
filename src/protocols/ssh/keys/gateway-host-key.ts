/**
 * The gateway's own SSH host key, which OpenSSH clients see through the tunnel: derived
 * from CREDENTIALS_KEY by HKDF (so every isolate and every restart presents the same key,
 * and agents can pin it), imported once per isolate. Published, as a known_hosts line, at
 * /.well-known/gatehouse/ssh-host-key.
 */
import type { Config } from '../../../config.ts'
import { hkdfSha256 } from '../../../encoding.ts'
import { ed25519Signer, type SshSigner } from './ed25519-signer.ts'

const HOST_KEY_INFO = 'gatehouse ssh host key v1'

const keys = new WeakMap<Uint8Array, Promise<SshSigner>>()

export function gatewayHostKey(config: Pick<Config, 'credentialsKey'>): Promise<SshSigner> {
  let key = keys.get(config.credentialsKey)
  if (!key) {
    key = hkdfSha256(config.credentialsKey, HOST_KEY_INFO, 32).then(ed25519Signer)
    key.catch(() => keys.delete(config.credentialsKey))
    keys.set(config.credentialsKey, key)
  }
  return key
}
