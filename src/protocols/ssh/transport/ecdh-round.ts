/**
 * One curve25519 round of a key exchange, for either role (RFC 5656 §4, RFC 8731): the
 * client sends its ephemeral key and checks the server's host key and signature over H;
 * the server answers with its host key, ephemeral key and signature. Then the AES-GCM
 * protections both ways are derived from K and H (RFC 4253 §7.2).
 */
import type { SshSigner } from '../keys/ed25519-signer.ts'
import { type PublicKey, parsePublicKeyBlob, verifySignature } from '../keys/public-key.ts'
import { Msg } from '../wire/message-numbers.ts'
import { DisconnectReason, SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'
import { payload } from '../wire/ssh-writer.ts'
import type { Negotiated } from './algorithms.ts'
import { deriveKey, ephemeralKey, exchangeHash, sharedSecret } from './key-exchange.ts'
import {
  aesGcm,
  CIPHER_IV_BYTES,
  CIPHER_KEY_BYTES,
  type PacketProtection,
} from './packet-protection.ts'

export type EcdhRole =
  | { role: 'client'; verifyHostKey: (key: PublicKey) => void | Promise<void> }
  | { role: 'server'; hostKey: SshSigner }

export type EcdhInput = {
  clientVersion: string
  serverVersion: string
  clientKexInit: Uint8Array
  serverKexInit: Uint8Array
  negotiated: Negotiated
  write: (message: Uint8Array) => Promise<void>
  /** The next key-exchange message, which must be of `type`. */
  expect: (type: number) => Promise<Uint8Array>
}

/** Runs the round; resolves with H and the shared secret K. */
export async function ecdhRound(
  side: EcdhRole,
  input: EcdhInput
): Promise<{ hash: Uint8Array; secret: Uint8Array }> {
  const ephemeral = await ephemeralKey()
  const { clientVersion, serverVersion, clientKexInit, serverKexInit } = input
  const versions = { clientVersion, serverVersion, clientKexInit, serverKexInit }
  if (side.role === 'client') {
    await input.write(payload((w) => w.byte(Msg.KEX_ECDH_INIT).string(ephemeral.publicKey)))
    const reply = new SshReader(await input.expect(Msg.KEX_ECDH_REPLY), 1)
    const hostKeyBlob = reply.string()
    const serverPublic = reply.string()
    const signature = reply.string()
    const hostKey = parsePublicKeyBlob(hostKeyBlob)
    await side.verifyHostKey(hostKey)
    const secret = await sharedSecret(ephemeral, serverPublic)
    const hash = await exchangeHash({
      ...versions,
      hostKey: hostKeyBlob,
      clientPublic: ephemeral.publicKey,
      serverPublic,
      secret,
    })
    const algorithm = new SshReader(signature).text()
    if (
      algorithm !== input.negotiated.hostKey ||
      !(await verifySignature(hostKey, signature, hash))
    ) {
      throw new SshProtocolError(
        "the server's key exchange signature does not verify",
        DisconnectReason.HOST_KEY_NOT_VERIFIABLE
      )
    }
    return { hash, secret }
  }
  const init = new SshReader(await input.expect(Msg.KEX_ECDH_INIT), 1)
  const clientPublic = init.string()
  const secret = await sharedSecret(ephemeral, clientPublic)
  const hostKeyBlob = side.hostKey.publicKey.blob
  const hash = await exchangeHash({
    ...versions,
    hostKey: hostKeyBlob,
    clientPublic,
    serverPublic: ephemeral.publicKey,
    secret,
  })
  const signature = await side.hostKey.sign(hash)
  await input.write(
    payload((w) =>
      w.byte(Msg.KEX_ECDH_REPLY).string(hostKeyBlob).string(ephemeral.publicKey).string(signature)
    )
  )
  return { hash, secret }
}

/** The packet protections of `role` after a round: what it sends with, what it reads with. */
export async function protectionsOf(
  role: 'client' | 'server',
  negotiated: Negotiated,
  round: { hash: Uint8Array; secret: Uint8Array },
  sessionId: Uint8Array
): Promise<{ outbound: PacketProtection; inbound: PacketProtection }> {
  const { hash, secret } = round
  const keys = async (cipher: string, iv: string, key: string) =>
    aesGcm(
      await deriveKey(secret, hash, key, sessionId, CIPHER_KEY_BYTES[cipher] as number),
      await deriveKey(secret, hash, iv, sessionId, CIPHER_IV_BYTES)
    )
  const clientToServer = await keys(negotiated.cipherC2S, 'A', 'C')
  const serverToClient = await keys(negotiated.cipherS2C, 'B', 'D')
  return role === 'client'
    ? { outbound: clientToServer, inbound: serverToClient }
    : { outbound: serverToClient, inbound: clientToServer }
}
