/**
 * An Ed25519 key that signs for SSH: the gateway's host key (as a server to clients) and
 * a connection's stored user key (as a client to origins). The seed never leaves WebCrypto
 * once imported.
 */
import { fromBase64Url, importSigningSeed } from '../../../evidence/signing-key.ts'
import { payload } from '../wire/ssh-writer.ts'
import { type PublicKey, parsePublicKeyBlob } from './public-key.ts'

export type SshSigner = {
  publicKey: PublicKey
  /** A signature blob (`string "ssh-ed25519", string signature`) over `data`. */
  sign(data: Uint8Array): Promise<Uint8Array>
}

export async function ed25519Signer(seed: Uint8Array): Promise<SshSigner> {
  const key = await importSigningSeed(seed)
  const raw = fromBase64Url(key.publicJwk.x)
  const publicKey = parsePublicKeyBlob(payload((w) => w.text('ssh-ed25519').string(raw)))
  return {
    publicKey,
    async sign(data) {
      const signature = new Uint8Array(
        await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, data)
      )
      return payload((w) => w.text('ssh-ed25519').string(signature))
    },
  }
}
