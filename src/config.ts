/**
 * Vars and secrets, parsed once per isolate with zod. A bad value fails every request
 * with `config.invalid` naming the variable, instead of failing somewhere deep inside.
 */
import { z } from 'zod'
import { ALERT_TYPES, type AlertType } from './alerts/alert.ts'
import { GatehouseError } from './errors.ts'

const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
const DEFAULT_INLINE_BODY_BYTES = 64 * 1024
const DEFAULT_ORIGIN_TIMEOUT_MS = 30_000
const DEFAULT_APPROVAL_WAIT_SECONDS = 180
const DEFAULT_APPROVAL_TTL_SECONDS = 15 * 60
const DEFAULT_SLACK_API_URL = 'https://slack.com/api'
const DEFAULT_OIDC_ALGORITHMS = 'RS256,PS256,ES256,ES384,EdDSA'
const DEFAULT_RETENTION_DAYS = 90
const DEFAULT_CONSOLE_GROUPS = 'gatehouse-responders'
/** Symmetric algorithms are never accepted: the gateway only ever holds public keys. */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
])

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined))

const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
  )

const positiveInt = (fallback: number) =>
  z
    .union([z.string(), z.number()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback
      const parsed = typeof value === 'number' ? value : Number(value)
      if (!Number.isSafeInteger(parsed) || parsed <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive integer' })
        return z.NEVER
      }
      return parsed
    })

const base64Key = z.string().transform((value, ctx) => {
  try {
    const bytes = Uint8Array.from(atob(value.trim()), (char) => char.charCodeAt(0))
    if (bytes.length === 32) return bytes
  } catch {}
  ctx.addIssue({
    code: 'custom',
    message: 'must be 32 random bytes in base64 (openssl rand -base64 32)',
  })
  return z.NEVER
})

/** The raw environment, named as the operator sets it so zod issues name the variable. */
const RawEnv = z.object({
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  OIDC_ISSUER: optionalString.pipe(z.url().optional()),
  OIDC_AUDIENCE: optionalString,
  OIDC_GROUPS_CLAIM: optionalString,
  OIDC_JWKS_URI: optionalString.pipe(z.url().optional()),
  OIDC_ALGORITHMS: commaList.pipe(
    z.array(
      z.string().refine((alg) => ASYMMETRIC_ALGORITHMS.has(alg), {
        message: `must list only asymmetric JWS algorithms (${[...ASYMMETRIC_ALGORITHMS].join(', ')})`,
      })
    )
  ),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  ADMIN_GROUPS: commaList,
  // Unset: the default group; set but empty: only ADMIN_GROUPS may use the console.
  CONSOLE_GROUPS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? DEFAULT_CONSOLE_GROUPS)
        .split(',')
        .map((group) => group.trim())
        .filter(Boolean)
    ),
  ADMIN_TOKEN: z.string({ error: 'is required (a Worker secret)' }).min(32, {
    message: 'must be at least 32 characters',
  }),
  CREDENTIALS_KEY: base64Key,
  MASKING_KEY: base64Key.optional(),
  SIGNING_KEY: base64Key.optional(),
  RETIRED_SIGNING_KEYS: commaList.pipe(
    z.array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9_-]{43}$/,
          'must be an Ed25519 public key: the `x` of its JWK (43 base64url characters)'
        )
    )
  ),
  MAX_BODY_BYTES: positiveInt(DEFAULT_MAX_BODY_BYTES),
  INLINE_BODY_BYTES: positiveInt(DEFAULT_INLINE_BODY_BYTES),
  ORIGIN_TIMEOUT_MS: positiveInt(DEFAULT_ORIGIN_TIMEOUT_MS),
  APPROVAL_WAIT_SECONDS: positiveInt(DEFAULT_APPROVAL_WAIT_SECONDS),
  APPROVAL_TTL_SECONDS: positiveInt(DEFAULT_APPROVAL_TTL_SECONDS),
  SLACK_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_CHANNEL: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_API_URL: optionalString.pipe(z.url().optional()),
  ALERT_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  ALERT_WEBHOOK_SECRET: optionalString,
  ALERT_SLACK: optionalString.pipe(
    z.enum(['on', 'off'], { error: 'must be on or off' }).default('off')
  ),
  ALERT_EVENTS: commaList.pipe(
    z.array(z.enum(ALERT_TYPES, { error: `must list only ${ALERT_TYPES.join(', ')}` }))
  ),
  AUDIT_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  AUDIT_WEBHOOK_SECRET: optionalString,
  RETENTION_DAYS: z
    .union([z.string(), z.number()])
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return DEFAULT_RETENTION_DAYS
      const parsed = typeof value === 'number' ? value : Number(value)
      if (!Number.isSafeInteger(parsed) || parsed < 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a whole number of days (0: keep forever)',
        })
        return z.NEVER
      }
      return parsed
    }),
})

export type OidcConfig = {
  issuer: string
  audience: string
  groupsClaim: string
  jwksUri: string | undefined
  algorithms: string[]
}

/** Approver sign-in (authorization code + PKCE) at the OIDC issuer; needs a client id. */
export type OidcLoginConfig = {
  clientId: string
  /** Absent: a public client (PKCE only). */
  clientSecret: string | undefined
}

export type SlackConfig = {
  /** Incoming webhook: posts only (updates go to the interaction's response_url). */
  webhookUrl: string | undefined
  /** Bot token + channel: chat.postMessage, and chat.update with the outcome. */
  bot: { token: string; channel: string } | undefined
  /** Verifies `/slack/interactions`; absent: Slack's buttons only link to the approval page. */
  signingSecret: string | undefined
  apiUrl: string
}

/** Alerts on blocked commands, denied or expired approvals and killed sessions. */
export type AlertsConfig = {
  /** ALERT_WEBHOOK_URL, signed with ALERT_WEBHOOK_SECRET when set. */
  webhook: { url: string; secret: string | undefined } | undefined
  /** ALERT_SLACK=on: also post to the Slack channel or webhook approvals use. */
  slack: boolean
  events: readonly AlertType[]
}

export type Config = {
  publicUrl: string | undefined
  oidc: OidcConfig | undefined
  oidcLogin: OidcLoginConfig | undefined
  slack: SlackConfig
  approvals: {
    /** How long an HTTP or JSON API caller is held before a 202 tells it to retry. */
    waitSeconds: number
    /** Expiry of an approval whose rule names none. */
    ttlSeconds: number
  }
  adminGroups: string[]
  /** IdP groups whose members may use the web console (`/ui`), besides `adminGroups`. */
  consoleGroups: string[]
  adminToken: string
  credentialsKey: Uint8Array
  /**
   * Keys the `token` and `fake` masking strategies: MASKING_KEY, else derived from
   * CREDENTIALS_KEY (rotating it changes every token, so joins across the change break).
   */
  maskingSecret: Uint8Array
  /**
   * SIGNING_KEY: the 32-byte Ed25519 seed (RFC 8032) that signs session manifests.
   * Absent: derived from CREDENTIALS_KEY by HKDF (src/evidence/signing-key.ts).
   */
  signingSeed: Uint8Array | undefined
  /**
   * RETIRED_SIGNING_KEYS: public keys (JWK `x`) of signing keys rotated out. Still published
   * and trusted for verifying, so sessions they signed stay verifiable; never used to sign.
   */
  retiredSigningKeys: string[]
  alerts: AlertsConfig
  /** Batches of transcript events pushed to a SIEM by the scheduled handler. */
  auditExport: { url: string; secret: string | undefined } | undefined
  /** Days closed sessions and ended approvals are kept; 0: forever. */
  retentionDays: number
  limits: {
    /** Largest request body the HTTP proxy accepts. */
    maxBodyBytes: number
    /** Bodies up to this size are read whole and written into the transcript before forwarding. */
    inlineBodyBytes: number
    originTimeoutMs: number
  }
}

const parsed = new WeakMap<object, Config>()

/** Parses the Worker's env once per env object; throws `config.invalid` naming the variable. */
export function loadConfig(env: object): Config {
  const cached = parsed.get(env)
  if (cached) return cached
  const result = RawEnv.safeParse(env)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`)
    throw new GatehouseError(
      'config.invalid',
      `Gateway configuration is invalid: ${problems.join('; ')}`
    )
  }
  const raw = result.data
  const config: Config = {
    publicUrl: raw.PUBLIC_URL?.replace(/\/+$/, ''),
    oidc: raw.OIDC_ISSUER
      ? {
          issuer: raw.OIDC_ISSUER,
          audience: raw.OIDC_AUDIENCE ?? 'gatehouse',
          groupsClaim: raw.OIDC_GROUPS_CLAIM ?? 'groups',
          jwksUri: raw.OIDC_JWKS_URI,
          algorithms: raw.OIDC_ALGORITHMS.length
            ? raw.OIDC_ALGORITHMS
            : DEFAULT_OIDC_ALGORITHMS.split(','),
        }
      : undefined,
    oidcLogin:
      raw.OIDC_ISSUER && raw.OIDC_CLIENT_ID
        ? { clientId: raw.OIDC_CLIENT_ID, clientSecret: raw.OIDC_CLIENT_SECRET }
        : undefined,
    slack: {
      webhookUrl: raw.SLACK_WEBHOOK_URL,
      bot:
        raw.SLACK_BOT_TOKEN && raw.SLACK_CHANNEL
          ? { token: raw.SLACK_BOT_TOKEN, channel: raw.SLACK_CHANNEL }
          : undefined,
      signingSecret: raw.SLACK_SIGNING_SECRET,
      apiUrl: (raw.SLACK_API_URL ?? DEFAULT_SLACK_API_URL).replace(/\/+$/, ''),
    },
    approvals: {
      waitSeconds: raw.APPROVAL_WAIT_SECONDS,
      ttlSeconds: raw.APPROVAL_TTL_SECONDS,
    },
    adminGroups: raw.ADMIN_GROUPS,
    consoleGroups: raw.CONSOLE_GROUPS,
    adminToken: raw.ADMIN_TOKEN,
    credentialsKey: raw.CREDENTIALS_KEY,
    maskingSecret: raw.MASKING_KEY ?? raw.CREDENTIALS_KEY,
    signingSeed: raw.SIGNING_KEY,
    retiredSigningKeys: raw.RETIRED_SIGNING_KEYS,
    alerts: {
      webhook: raw.ALERT_WEBHOOK_URL
        ? { url: raw.ALERT_WEBHOOK_URL, secret: raw.ALERT_WEBHOOK_SECRET }
        : undefined,
      slack: raw.ALERT_SLACK === 'on',
      events: raw.ALERT_EVENTS.length ? [...new Set(raw.ALERT_EVENTS)] : [...ALERT_TYPES],
    },
    auditExport: raw.AUDIT_WEBHOOK_URL
      ? { url: raw.AUDIT_WEBHOOK_URL, secret: raw.AUDIT_WEBHOOK_SECRET }
      : undefined,
    retentionDays: raw.RETENTION_DAYS,
    limits: {
      maxBodyBytes: raw.MAX_BODY_BYTES,
      inlineBodyBytes: Math.min(raw.INLINE_BODY_BYTES, raw.MAX_BODY_BYTES),
      originTimeoutMs: raw.ORIGIN_TIMEOUT_MS,
    },
  }
  parsed.set(env, config)
  return config
}
