/**
 * The SSH building blocks on their own: the RFC 4251 types with lying lengths, packet
 * framing and its checks, key parsing (what is refused and why), and signatures made by
 * one side and verified by the other. Interoperability is tested against the real
 * OpenSSH in ssh-exec, ssh-tunnel and the e2e tests.
 */
import { describe, expect, inject, it } from 'vitest'
import { ed25519Signer } from '../../../src/protocols/ssh/keys/ed25519-signer.ts'
import {
  ed25519SeedFromOpenSsh,
  PrivateKeyError,
} from '../../../src/protocols/ssh/keys/openssh-private-key.ts'
import {
  parsePublicKeyLine,
  publicKeyLine,
  sameKey,
  verifySignature,
} from '../../../src/protocols/ssh/keys/public-key.ts'
import {
  CLEAR,
  checkPacketLength,
  framePacket,
  MAX_PACKET_LENGTH,
  unpad,
} from '../../../src/protocols/ssh/transport/packet-protection.ts'
import { SshProtocolError } from '../../../src/protocols/ssh/wire/ssh-error.ts'
import { SshReader } from '../../../src/protocols/ssh/wire/ssh-reader.ts'
import { payload, SshWriter } from '../../../src/protocols/ssh/wire/ssh-writer.ts'

/** ssh-keygen -t ed25519 -N secret-pass */
const ENCRYPTED_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABDI6dFY5d
Z4SNWreixt4LtSAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIHLNDWaIrqiTxPz/
169Zh1iJU6P3nlwgAjse+cwiHviRAAAAkHcxBOpQJVu9hWx4q78ju6U90ltLcO3tAaAH0m
Y+hH3jbN2/aXQDS2j46dz4x6eDtMr9OQp7thB/lJqvni4oF82buaUM0NPj+b3Q+2NE9zYt
JQLsOYL+dE2qPGkBCgb980/14R2YzMg88cZIBbFeI/JGIputwipb/+BK4QVYbQQH9d3aT1
xmBLD+9LIk4yhSpQ==
-----END OPENSSH PRIVATE KEY-----`
/** ssh-keygen -t rsa -b 1024 */
const SMALL_RSA =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDPye+VNv1FkZHhKc4XTtjgtx3Alx7J+Hm/HsnAsvT3NyAsXbf+Ql1MWAtMVa3GnOckj31cI5k+jOXwjK7iVvjZrhKogq+Nbt/mq9gi/pJedQm+QuWFF8GInw7/y6H/HAKEb5NEblobY+yVP4gL33A+rjAQqNiECN0tsQbvSsjGPQ== fixture'
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMA/a40cpZAbNL3/qa6u6Z9Wd0JyR6juQeU0EqHDdNSZBuXBwDAJVygv4QDrif4r8v2zIh+1vwFkhdUvM8zCJq0= fixture'

describe('SSH wire types', () => {
  it('refuses a string whose length runs past the message', () => {
    const bytes = payload((w) => w.uint32(100).raw(new Uint8Array(10)))
    expect(() => new SshReader(bytes).string()).toThrow(SshProtocolError)
    expect(() => new SshReader(new Uint8Array([0, 0])).uint32()).toThrow(/ends inside a uint32/)
  })

  it('writes mpints with a zero byte before a set top bit, and reads them back', () => {
    const bytes = new SshWriter().mpint(new Uint8Array([0, 0, 0x80, 1])).toBytes()
    expect([...bytes]).toEqual([0, 0, 0, 3, 0, 0x80, 1])
    expect([...new SshReader(bytes).mpint()]).toEqual([0x80, 1])
    const negative = payload((w) => w.uint32(1).byte(0xff))
    expect(() => new SshReader(negative).mpint()).toThrow(/negative mpint/)
  })

  it('refuses invalid UTF-8 and stray bytes where a message must end', () => {
    expect(() => new SshReader(payload((w) => w.string(new Uint8Array([0xff])))).text()).toThrow(
      /not valid UTF-8/
    )
    const reader = new SshReader(new Uint8Array([1, 2]))
    reader.byte()
    expect(() => reader.end('a test message')).toThrow(/1 stray bytes after a test message/)
  })
})

describe('packet framing', () => {
  it('pads to the block size with at least four random bytes, and unpads', () => {
    for (const size of [0, 1, 3, 4, 11, 12, 100]) {
      const message = new Uint8Array(size).fill(7)
      const packet = framePacket(message, CLEAR)
      expect(packet.length % 8).toBe(0)
      const length = new DataView(packet.buffer).getUint32(0)
      expect(length).toBe(packet.length - 4)
      expect(packet[4]).toBeGreaterThanOrEqual(4)
      checkPacketLength(length, CLEAR)
      expect([...unpad(packet.subarray(4))]).toEqual([...message])
    }
  })

  it('refuses lengths that are too small, too large or unaligned, and bad padding', () => {
    expect(() => checkPacketLength(4, CLEAR)).toThrow(/bad packet length 4/)
    expect(() => checkPacketLength(MAX_PACKET_LENGTH + 4, CLEAR)).toThrow(SshProtocolError)
    expect(() => checkPacketLength(13, CLEAR)).toThrow(/bad packet length 13/)
    expect(() => unpad(new Uint8Array([3, 1, 2, 3, 4]))).toThrow(/bad padding length 3/)
    expect(() => unpad(new Uint8Array([9, 1, 2, 3, 4]))).toThrow(/bad padding length 9/)
  })
})

describe('keys', () => {
  it('reads an OpenSSH ed25519 private key and signs what its public key verifies', async () => {
    const server = inject('sshd')
    const signer = await ed25519Signer(ed25519SeedFromOpenSsh(server.clientPrivateKey))
    expect(sameKey(signer.publicKey, parsePublicKeyLine(server.clientPublicKey))).toBe(true)
    const data = new TextEncoder().encode('exchange hash')
    const signature = await signer.sign(data)
    expect(await verifySignature(signer.publicKey, signature, data)).toBe(true)
    expect(await verifySignature(signer.publicKey, signature, new Uint8Array([1]))).toBe(false)
  })

  it('refuses a passphrase-protected key, a non-key and a key of another type', () => {
    expect(() => ed25519SeedFromOpenSsh(ENCRYPTED_KEY)).toThrow(/passphrase-protected/)
    expect(() => ed25519SeedFromOpenSsh('ssh-ed25519 AAAA')).toThrow(PrivateKeyError)
    expect(() =>
      ed25519SeedFromOpenSsh(
        '-----BEGIN OPENSSH PRIVATE KEY-----\n!!\n-----END OPENSSH PRIVATE KEY-----'
      )
    ).toThrow(PrivateKeyError)
  })

  it('refuses RSA keys under 2048 bits, unsupported types and lines that lie about their type', () => {
    expect(() => parsePublicKeyLine(SMALL_RSA)).toThrow(/under 2048 bits/)
    expect(() => parsePublicKeyLine(ECDSA)).toThrow(/unsupported key type/)
    const ed25519 = inject('sshd').hostKeys.ed25519
    const [, blob] = ed25519.split(' ')
    expect(() => parsePublicKeyLine(`ssh-rsa ${blob}`)).toThrow(
      /says ssh-rsa but holds ssh-ed25519/
    )
    expect(publicKeyLine(parsePublicKeyLine(ed25519))).toBe(
      ed25519.split(' ').slice(0, 2).join(' ')
    )
  })

  it('refuses an ssh-rsa (SHA-1) signature on an RSA key', async () => {
    const rsa = parsePublicKeyLine(inject('sshd').hostKeys.rsa)
    const signature = payload((w) => w.text('ssh-rsa').string(new Uint8Array(256)))
    expect(await verifySignature(rsa, signature, new Uint8Array([1]))).toBe(false)
  })
})
