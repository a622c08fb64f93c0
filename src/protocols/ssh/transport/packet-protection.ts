/**
 * The binary packet (RFC 4253 §6) sealed and opened. Before the first NEWKEYS packets
 * travel in clear; after it, AES-GCM as OpenSSH specifies it (PROTOCOL, RFC 5647): the
 * 4-byte length stays in clear as additional data, the 12-byte nonce is a fixed 4-byte
 * part and a 64-bit counter bumped per packet, and the 16-byte tag follows.
 */
import { DisconnectReason, SshProtocolError } from '../wire/ssh-error.ts'

/** Largest packet_length accepted: OpenSSH's limit (256 KiB), far above any channel packet we allow. */
export const MAX_PACKET_LENGTH = 256 * 1024
const MIN_PADDING = 4

export type PacketProtection = {
  /** Padding aligns to this (8 in clear, 16 for AES). */
  readonly blockSize: number
  /** Bytes after the encrypted body (the GCM tag). */
  readonly tagLength: number
  /** Whether the 4-byte length counts toward the alignment (only in clear). */
  readonly lengthAligned: boolean
  seal(packet: Uint8Array): Promise<Uint8Array>
  /** `length` is the 4 clear bytes; `rest` the encrypted body and tag. Returns the body. */
  open(length: Uint8Array, rest: Uint8Array): Promise<Uint8Array>
}

export const CLEAR: PacketProtection = {
  blockSize: 8,
  tagLength: 0,
  lengthAligned: true,
  async seal(packet) {
    return packet
  },
  async open(_length, rest) {
    return rest
  },
}

export const CIPHER_KEY_BYTES: Record<string, number> = {
  'aes128-gcm@openssh.com': 16,
  'aes256-gcm@openssh.com': 32,
}
export const CIPHER_IV_BYTES = 12

export async function aesGcm(key: Uint8Array, iv: Uint8Array): Promise<PacketProtection> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ])
  const nonce = iv.slice()
  const view = new DataView(nonce.buffer)
  const next = () => {
    const current = nonce.slice()
    // The invocation counter is the last 8 bytes, big-endian, wrapping (RFC 5647 §7.1).
    const low = view.getUint32(8) + 1
    view.setUint32(8, low >>> 0)
    if (low > 0xffffffff) view.setUint32(4, (view.getUint32(4) + 1) >>> 0)
    return current
  }
  return {
    blockSize: 16,
    tagLength: 16,
    lengthAligned: false,
    async seal(packet) {
      const length = packet.subarray(0, 4)
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv: next(), additionalData: length, tagLength: 128 },
          cryptoKey,
          packet.subarray(4)
        )
      )
      const out = new Uint8Array(4 + sealed.length)
      out.set(length)
      out.set(sealed, 4)
      return out
    },
    async open(length, rest) {
      try {
        return new Uint8Array(
          await crypto.subtle.decrypt(
            { name: 'AES-GCM', iv: next(), additionalData: length, tagLength: 128 },
            cryptoKey,
            rest
          )
        )
      } catch {
        throw new SshProtocolError('a packet failed authentication', DisconnectReason.MAC_ERROR)
      }
    },
  }
}

/** Frames `payload` as a packet (length, padding length, payload, random padding) for `protection`. */
export function framePacket(payload: Uint8Array, protection: PacketProtection): Uint8Array {
  const { blockSize, lengthAligned } = protection
  const unpadded = (lengthAligned ? 4 : 0) + 1 + payload.length
  let padding = blockSize - (unpadded % blockSize)
  if (padding < MIN_PADDING) padding += blockSize
  const packetLength = 1 + payload.length + padding
  const packet = new Uint8Array(4 + packetLength)
  new DataView(packet.buffer).setUint32(0, packetLength)
  packet[4] = padding
  packet.set(payload, 5)
  crypto.getRandomValues(packet.subarray(5 + payload.length))
  return packet
}

/** Checks a received packet_length before anything is read for it. */
export function checkPacketLength(length: number, protection: PacketProtection): void {
  const aligned = (protection.lengthAligned ? length + 4 : length) % protection.blockSize === 0
  if (length < 5 || length > MAX_PACKET_LENGTH || !aligned) {
    throw new SshProtocolError(`bad packet length ${length}`)
  }
}

/** The payload of an opened packet body (padding length, payload, padding). */
export function unpad(body: Uint8Array): Uint8Array {
  const padding = body[0] as number
  if (padding < MIN_PADDING || padding + 1 > body.length) {
    throw new SshProtocolError(`bad padding length ${padding}`)
  }
  return body.subarray(1, body.length - padding)
}
