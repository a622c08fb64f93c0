/**
 * Connection definitions: a name, a kind, where the target is, and how the gateway
 * authenticates to it. The credential is write-only: it is sealed on the way in and
 * never returned by the admin API.
 */
import { z } from 'zod'

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })

/** RFC 9110 §5.1 field-name token. */
const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid header name')

export const HttpTarget = z
  .object({
    /** Base URL; the proxied path is appended to its path. */
    url: HttpUrl,
    /** Time to wait for the origin's response headers. */
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    /** Largest request body accepted for this connection (defaults to MAX_BODY_BYTES). */
    maxBodyBytes: z.number().int().min(0).optional(),
  })
  .strict()
export type HttpTarget = z.infer<typeof HttpTarget>

export const HttpCredential = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bearer'), token: z.string().min(1) }).strict(),
  z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }).strict(),
  z.object({ type: z.literal('header'), name: HeaderName, value: z.string().min(1) }).strict(),
])
export type HttpCredential = z.infer<typeof HttpCredential>

/** A hostname or IP literal: what cloudflare:sockets `connect()` accepts. */
const Hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'must be a hostname or IP address')

export const PostgresTarget = z
  .object({
    host: Hostname,
    port: z.number().int().min(1).max(65535).default(5432),
    /** The database every session opens; what a client asks for is recorded, not used. */
    database: z.string().min(1).max(63),
    /** `verify-full`: TLS with the certificate checked (cloudflare:sockets always verifies). */
    tls: z.enum(['verify-full', 'disable']).default('verify-full'),
    connectTimeoutMs: z.number().int().min(100).max(60_000).optional(),
    /** Close a tunnel whose client sends nothing, with no statement running, for this long. */
    idleTimeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
    /** Close a tunnel this long after it opened, whatever it is doing. */
    maxSessionMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000)
      .optional(),
  })
  .strict()
export type PostgresTarget = z.infer<typeof PostgresTarget>

export const PostgresCredential = z
  .object({
    type: z.literal('password'),
    username: z.string().min(1).max(63),
    password: z.string(),
  })
  .strict()
export type PostgresCredential = z.infer<typeof PostgresCredential>

/** An OpenSSH public key line: `ssh-ed25519 AAAA… [comment]` (the comment is ignored). */
export const SshPublicKeyLine = z
  .string()
  .trim()
  .regex(
    /^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?$/,
    'must be an OpenSSH public key line: ssh-ed25519 AAAA… or ssh-rsa AAAA…'
  )

export const SshTarget = z
  .object({
    host: Hostname,
    port: z.number().int().min(1).max(65535).default(22),
    /**
     * The origin's host key, pinned: `ssh-keyscan -t ed25519 host` prints it. Any other key
     * refuses the connection, so a man in the middle cannot pose as the host.
     */
    hostKey: SshPublicKeyLine,
    connectTimeoutMs: z.number().int().min(100).max(60_000).optional(),
    /** Default and ceiling for an exec request's `timeoutSeconds`. */
    execTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
    /** Close a tunnel whose client sends nothing for this long. */
    idleTimeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
    /** Close a tunnel this long after it opened, whatever it is doing. */
    maxSessionMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000)
      .optional(),
  })
  .strict()
export type SshTarget = z.infer<typeof SshTarget>

export const SshCredential = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('key'),
      username: z.string().min(1).max(64),
      /** An unencrypted OpenSSH ed25519 private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
      privateKey: z.string().min(1).max(16_384),
    })
    .strict(),
  z
    .object({
      type: z.literal('password'),
      username: z.string().min(1).max(64),
      password: z.string().max(1024),
    })
    .strict(),
])
export type SshCredential = z.infer<typeof SshCredential>

/** The admin API body for creating or replacing a connection. */
export const ConnectionInput = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('http'),
      target: HttpTarget,
      /** Omitted on replace: keep the stored credential. `null`: remove it. */
      credential: HttpCredential.nullable().optional(),
      /** Keep the stored credential although the target moves to another origin. */
      moveCredential: z.boolean().optional(),
      description: z.string().max(500).default(''),
    })
    .strict(),
  z
    .object({
      kind: z.literal('postgres'),
      target: PostgresTarget,
      credential: PostgresCredential.nullable().optional(),
      moveCredential: z.boolean().optional(),
      description: z.string().max(500).default(''),
    })
    .strict(),
  z
    .object({
      kind: z.literal('ssh'),
      target: SshTarget,
      credential: SshCredential.nullable().optional(),
      moveCredential: z.boolean().optional(),
      description: z.string().max(500).default(''),
    })
    .strict(),
])
export type ConnectionInput = z.infer<typeof ConnectionInput>

/**
 * Where a target's credential would be sent: for HTTP, the URL's origin. A stored
 * credential never silently follows a connection to another endpoint.
 */
export function targetEndpoint(kind: ConnectionInput['kind'], target: unknown): string {
  switch (kind) {
    case 'http':
      return new URL(HttpTarget.parse(target).url).origin
    case 'postgres': {
      const { host, port } = PostgresTarget.parse(target)
      return `postgres://${host}:${port}`
    }
    case 'ssh': {
      const { host, port } = SshTarget.parse(target)
      return `ssh://${host}:${port}`
    }
  }
}
