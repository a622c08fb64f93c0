/**
 * The client side of Postgres `md5` authentication (55.3.2 Password Authentication):
 * what the gateway answers an origin's AuthenticationMD5Password with. Postgres has
 * deprecated it in favour of SCRAM, but older origins still ask for it. workerd's
 * WebCrypto provides the non-standard MD5 digest, so no hand-written MD5 is needed.
 */
import { toHex, utf8 } from '../../../encoding.ts'
import { malformed } from '../codec/protocol-error.ts'

/**
 * The PasswordMessage text: `md5` + md5hex(md5hex(password + user) + salt).
 * `user` is the role name sent in the StartupMessage; `salt` the 4 bytes the origin sent.
 */
export async function md5PasswordResponse(
  user: string,
  password: string,
  salt: Uint8Array
): Promise<string> {
  if (salt.length !== 4) throw malformed(`An MD5 password salt is 4 bytes, not ${salt.length}.`)
  const inner = utf8(await md5Hex(utf8(password + user)))
  const salted = new Uint8Array(inner.length + 4)
  salted.set(inner)
  salted.set(salt, inner.length)
  return `md5${await md5Hex(salted)}`
}

async function md5Hex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('MD5', bytes)))
}
