import { describe, expect, it } from 'vitest'
import { md5PasswordResponse } from '../../../src/protocols/postgres/auth/md5-password.ts'
import { ProtocolError } from '../../../src/protocols/postgres/codec/protocol-error.ts'

const text = new TextEncoder()

async function md5(input: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('MD5', text.encode(input)))
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

describe('Postgres md5 password authentication', () => {
  // RFC 1321 §A.5 test suite: proves workerd's non-standard WebCrypto MD5 is real MD5.
  it.each([
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    [
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
      'd174ab98d277d9f5a5611c2c9f419d9f',
    ],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      '57edf4a22be3c955ac49da2e2107b67a',
    ],
  ])('workerd WebCrypto computes RFC 1321 MD5 of %j', async (input, expected) => {
    expect(await md5(input)).toBe(expected)
  })

  it('answers the salt a real Postgres 15 sent with the bytes psql sent', async () => {
    // Captured: user md5user, password md5-pass, AuthenticationMD5Password salt 53 be 3b 57.
    const salt = new Uint8Array([0x53, 0xbe, 0x3b, 0x57])
    expect(await md5PasswordResponse('md5user', 'md5-pass', salt)).toBe(
      'md5806de52035d64c13fa69782f8e04e858'
    )
  })

  it('hashes password then user, then appends the raw salt bytes', async () => {
    const salt = new Uint8Array([1, 2, 3, 4])
    const inner = await md5('secretalice')
    const outer = new Uint8Array([...text.encode(inner), 1, 2, 3, 4])
    const digest = new Uint8Array(await crypto.subtle.digest('MD5', outer))
    const expected = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
    expect(await md5PasswordResponse('alice', 'secret', salt)).toBe(`md5${expected}`)
  })

  it('refuses a salt that is not 4 bytes', async () => {
    await expect(md5PasswordResponse('alice', 'secret', new Uint8Array(3))).rejects.toThrow(
      new ProtocolError('protocol.malformed', 'An MD5 password salt is 4 bytes, not 3.')
    )
  })
})
