/**
 * The SSH keys `connection set --kind ssh` takes, checked on the admin's machine the way the
 * gateway will read them, so a pasted key cut short or a passphrase-protected key file is a
 * usage error naming the flag rather than a failed login later.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { usageError } from './output.ts'

/** Host key types the gateway can pin (RFC 8709 ed25519, RFC 8332 RSA with SHA-2). */
const HOST_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa']
const OPENSSH_KEY_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----'
const OPENSSH_KEY_END = '-----END OPENSSH PRIVATE KEY-----'

/**
 * The pinned host key as `type base64`. Also takes a line as ssh-keyscan or known_hosts
 * print it (`host type base64 [comment]`), dropping the host; the blob must name the
 * same type (RFC 4253 §6.6), which catches a pasted key that was cut short or mixed up.
 */
export function hostKeyLine(value: string): string {
  const fields = value.trim().split(/\s+/)
  const at = HOST_KEY_TYPES.includes(fields[0] ?? '') ? 0 : 1
  const [type = '', blob = ''] = fields.slice(at)
  const invalid = () =>
    usageError(
      '--host-key must be the server\'s OpenSSH public key line, "ssh-ed25519 AAAA…" or ' +
        '"ssh-rsa AAAA…" (ssh-keyscan -t ed25519 HOST prints it)'
    )
  if (!HOST_KEY_TYPES.includes(type) || !/^[A-Za-z0-9+/]+={0,3}$/.test(blob)) throw invalid()
  const bytes = Buffer.from(blob, 'base64')
  const length = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1
  if (bytes.subarray(4, 4 + length).toString('latin1') !== type) throw invalid()
  return `${type} ${blob}`
}

/**
 * The private key file's text, checked the way the gateway will read it (OpenSSH
 * PROTOCOL.key `openssh-key-v1`): unencrypted, one ed25519 key. The gateway cannot ask
 * for a passphrase, and it seals the key at rest itself.
 */
export function readPrivateKeyFile(path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch (error) {
    throw usageError(
      `--private-key-file ${path}: cannot read it (${(error as NodeJS.ErrnoException).code})`
    )
  }
  const problem = (what: string) => usageError(`--private-key-file ${path}: ${what}`)
  if (!text.startsWith(OPENSSH_KEY_BEGIN) || !text.endsWith(OPENSSH_KEY_END)) {
    throw problem(
      `not an OpenSSH private key (${OPENSSH_KEY_BEGIN}); ssh-keygen -t ed25519 writes one`
    )
  }
  const bytes = Buffer.from(
    text.slice(OPENSSH_KEY_BEGIN.length, -OPENSSH_KEY_END.length).replace(/\s+/g, ''),
    'base64'
  )
  const magic = 'openssh-key-v1\0'
  if (bytes.subarray(0, magic.length).toString('latin1') !== magic) {
    throw problem('not an openssh-key-v1 key')
  }
  const reader = sshStrings(bytes, magic.length)
  const cipher = reader.next()
  if (cipher !== 'none') {
    throw problem(
      'the key is protected by a passphrase; give the gateway an unencrypted copy ' +
        "(cp KEY copy && ssh-keygen -p -N '' -f copy): it seals the key itself"
    )
  }
  reader.next() // kdfname
  reader.next() // kdfoptions
  reader.skip(4) // number of keys
  const type = sshStrings(reader.nextBytes(), 0).next()
  if (type !== 'ssh-ed25519') {
    throw problem(`the key is ${type || 'unreadable'}; the gateway logs in with ed25519 keys`)
  }
  return `${text}\n`
}

/** Reads successive SSH `string`s (uint32 length, bytes; RFC 4251 §5) from `bytes`. */
function sshStrings(bytes: Buffer, start: number) {
  let at = start
  const nextBytes = () => {
    if (at + 4 > bytes.length) return Buffer.alloc(0)
    const length = bytes.readUInt32BE(at)
    const value = bytes.subarray(at + 4, at + 4 + length)
    at += 4 + length
    return value
  }
  return {
    nextBytes,
    next: () => nextBytes().toString('latin1'),
    skip: (count: number) => {
      at += count
    },
  }
}

/** `SHA256:…` of a public key line's blob, as `ssh-keygen -l` and ssh print it. */
export function hostKeyFingerprint(line: string): string {
  const blob = line.split(' ')[1] ?? ''
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64')
  return `SHA256:${digest.replace(/=+$/, '')}`
}
