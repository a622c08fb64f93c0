/**
 * Algorithm negotiation (RFC 4253 §7.1): the KEXINIT message and the rule that the first
 * of the client's names the server also lists wins. Gatehouse speaks one modern suite:
 * curve25519-sha256 key exchange and AES-GCM; host keys ssh-ed25519 and rsa-sha2-256/512.
 */
import { Msg } from '../wire/message-numbers.ts'
import { DisconnectReason, SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'
import { payload } from '../wire/ssh-writer.ts'

export const KEX_ALGORITHMS = ['curve25519-sha256', 'curve25519-sha256@libssh.org'] as const
/** Terrapin countermeasure (OpenSSH PROTOCOL §1.10): strict sequence numbers around NEWKEYS. */
export const STRICT_KEX = {
  client: 'kex-strict-c-v00@openssh.com',
  server: 'kex-strict-s-v00@openssh.com',
}
export const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'] as const
/** Listed for peers that negotiate a MAC even with an AEAD cipher; AES-GCM uses none. */
export const MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-256'] as const

export type KexInit = {
  cookie: Uint8Array
  kex: string[]
  hostKey: string[]
  cipherC2S: string[]
  cipherS2C: string[]
  macC2S: string[]
  macS2C: string[]
  compressionC2S: string[]
  compressionS2C: string[]
  firstKexPacketFollows: boolean
}

export function encodeKexInit(init: Omit<KexInit, 'cookie' | 'firstKexPacketFollows'>): Uint8Array {
  return payload((w) =>
    w
      .byte(Msg.KEXINIT)
      .raw(crypto.getRandomValues(new Uint8Array(16)))
      .nameList(init.kex)
      .nameList(init.hostKey)
      .nameList(init.cipherC2S)
      .nameList(init.cipherS2C)
      .nameList(init.macC2S)
      .nameList(init.macS2C)
      .nameList(init.compressionC2S)
      .nameList(init.compressionS2C)
      .nameList([])
      .nameList([])
      .boolean(false)
      .uint32(0)
  )
}

export function decodeKexInit(message: Uint8Array): KexInit {
  const reader = new SshReader(message, 1)
  const init: KexInit = {
    cookie: reader.raw(16),
    kex: reader.nameList(),
    hostKey: reader.nameList(),
    cipherC2S: reader.nameList(),
    cipherS2C: reader.nameList(),
    macC2S: reader.nameList(),
    macS2C: reader.nameList(),
    compressionC2S: reader.nameList(),
    compressionS2C: reader.nameList(),
    firstKexPacketFollows: false,
  }
  reader.nameList()
  reader.nameList()
  init.firstKexPacketFollows = reader.boolean()
  reader.uint32()
  return init
}

/** The first name on the client's list that the server lists too. */
export function negotiate(
  what: string,
  client: readonly string[],
  server: readonly string[]
): string {
  const chosen = client.find((name) => server.includes(name))
  if (!chosen) {
    throw new SshProtocolError(
      `no common ${what} algorithm (offered ${client.slice(0, 8).join(',')}; supported ${server.join(',')})`,
      DisconnectReason.KEY_EXCHANGE_FAILED
    )
  }
  return chosen
}

export type Negotiated = {
  kex: string
  hostKey: string
  cipherC2S: string
  cipherS2C: string
  strict: boolean
}

export function negotiateAll(client: KexInit, server: KexInit): Negotiated {
  // Both sides must list `none` compression: Gatehouse never compresses.
  negotiate('compression (client to server)', client.compressionC2S, server.compressionC2S)
  negotiate('compression (server to client)', client.compressionS2C, server.compressionS2C)
  return {
    kex: negotiate('key exchange', client.kex, server.kex),
    hostKey: negotiate('host key', client.hostKey, server.hostKey),
    cipherC2S: negotiate('cipher (client to server)', client.cipherC2S, server.cipherC2S),
    cipherS2C: negotiate('cipher (server to client)', client.cipherS2C, server.cipherS2C),
    strict: client.kex.includes(STRICT_KEX.client) && server.kex.includes(STRICT_KEX.server),
  }
}
