/**
 * The approver's cookies: a short-lived one carrying the sign-in's state, nonce and PKCE
 * verifier to the callback, and the session itself. Both are HMAC-signed with keys
 * derived from CREDENTIALS_KEY (HKDF, one key per purpose, so neither cookie can stand in
 * for the other and no extra secret is needed), `__Host-` prefixed (Secure, Path=/, no
 * Domain), HttpOnly and SameSite=Lax. Their expiry is inside the signed value: Max-Age
 * only asks the browser to forget them.
 */
import type { Context } from 'hono'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import type { CookieOptions } from 'hono/utils/cookie'
import { z } from 'zod'
import { fromBase64, hkdfSha256, toBase64Url, utf8 } from '../encoding.ts'
import { GatehouseError } from '../errors.ts'

/** How long an approver stays signed in. */
export const APPROVER_SESSION_SECONDS = 8 * 60 * 60
/** How long a started sign-in may take at the IdP. */
export const LOGIN_STATE_SECONDS = 10 * 60
/** Browsers keep about 4 KiB per cookie; a larger session would be dropped silently. */
const MAX_COOKIE_BYTES = 4000

const SESSION_COOKIE = 'gatehouse_approver'
const LOGIN_COOKIE = 'gatehouse_login'

/** A signed-in approver, as the session cookie carries it. */
export const ApproverSession = z.object({
  v: z.literal(1),
  sub: z.string().min(1),
  email: z.string().optional(),
  groups: z.array(z.string()),
  iss: z.string(),
  /** Seconds since the epoch, like JWT claims. */
  iat: z.number().int(),
  exp: z.number().int(),
  /** Random per session; every form posts it back (synchroniser token). */
  csrf: z.string().min(32),
})
export type ApproverSession = z.infer<typeof ApproverSession>

/** What the callback needs to finish the sign-in the browser started. */
export const LoginState = z.object({
  state: z.string().min(1),
  nonce: z.string().min(1),
  verifier: z.string().min(43),
  returnTo: z.string(),
  exp: z.number().int(),
})
export type LoginState = z.infer<typeof LoginState>

type CookiePurpose = 'session' | 'login'

const COOKIE_OPTIONS: CookieOptions = {
  prefix: 'host',
  path: '/',
  secure: true,
  httpOnly: true,
  // Lax: the IdP's redirect back to /auth/callback is a top-level GET and must carry it.
  sameSite: 'Lax',
}

const derivedKeys = new WeakMap<Uint8Array, Map<CookiePurpose, Promise<ArrayBuffer>>>()

/** HKDF-SHA256 (RFC 5869) of CREDENTIALS_KEY, labelled by purpose; cached per isolate. */
function cookieKey(credentialsKey: Uint8Array, purpose: CookiePurpose): Promise<ArrayBuffer> {
  let keys = derivedKeys.get(credentialsKey)
  if (!keys) {
    keys = new Map()
    derivedKeys.set(credentialsKey, keys)
  }
  let key = keys.get(purpose)
  if (!key) {
    key = hkdfSha256(credentialsKey, `gatehouse approver ${purpose} cookie v1`, 32).then(
      (bytes) => bytes.buffer as ArrayBuffer
    )
    keys.set(purpose, key)
  }
  return key
}

function encodeValue(value: unknown): string {
  return toBase64Url(utf8(JSON.stringify(value)))
}

function decodeValue(text: string): unknown {
  try {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(new TextDecoder().decode(fromBase64(base64)))
  } catch {
    return null
  }
}

async function readCookie<T extends { exp: number }>(
  c: Context,
  credentialsKey: Uint8Array,
  purpose: CookiePurpose,
  schema: z.ZodType<T>,
  nowSeconds: number
): Promise<T | null> {
  const name = purpose === 'session' ? SESSION_COOKIE : LOGIN_COOKIE
  const signed = await getSignedCookie(c, await cookieKey(credentialsKey, purpose), name, 'host')
  // undefined: absent; false: the signature does not match (forged or another key).
  if (!signed) return null
  const parsed = schema.safeParse(decodeValue(signed))
  if (!parsed.success) return null
  return parsed.data.exp > nowSeconds ? parsed.data : null
}

/** The signed-in approver, or null when the cookie is absent, forged or expired. */
export function readApproverSession(
  c: Context,
  credentialsKey: Uint8Array,
  now: number
): Promise<ApproverSession | null> {
  return readCookie(c, credentialsKey, 'session', ApproverSession, Math.floor(now / 1000))
}

/** Starts an approver session for a verified identity: a fresh CSRF token, 8 h. */
export async function writeApproverSession(
  c: Context,
  credentialsKey: Uint8Array,
  identity: { sub: string; email: string | undefined; groups: string[]; iss: string },
  now: number
): Promise<ApproverSession> {
  const iat = Math.floor(now / 1000)
  const session: ApproverSession = {
    v: 1,
    sub: identity.sub,
    ...(identity.email ? { email: identity.email } : {}),
    groups: identity.groups,
    iss: identity.iss,
    iat,
    exp: iat + APPROVER_SESSION_SECONDS,
    csrf: toBase64Url(crypto.getRandomValues(new Uint8Array(32))),
  }
  const value = encodeValue(session)
  // Signature (44) + name and attributes (~120) on top of the value.
  if (value.length + 200 > MAX_COOKIE_BYTES) {
    throw new GatehouseError(
      'auth.login_failed',
      'Your identity provider sent more groups than fit in a sign-in cookie; ask an administrator to limit the groups claim.',
      { detail: `session cookie value is ${value.length} bytes (${identity.groups.length} groups)` }
    )
  }
  await setSignedCookie(c, SESSION_COOKIE, value, await cookieKey(credentialsKey, 'session'), {
    ...COOKIE_OPTIONS,
    maxAge: APPROVER_SESSION_SECONDS,
  })
  return session
}

/** Signs the approver out of this browser. */
export function clearApproverSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, COOKIE_OPTIONS)
}

/** The pending sign-in, or null when absent, forged or older than LOGIN_STATE_SECONDS. */
export function readLoginState(
  c: Context,
  credentialsKey: Uint8Array,
  now: number
): Promise<LoginState | null> {
  return readCookie(c, credentialsKey, 'login', LoginState, Math.floor(now / 1000))
}

export async function writeLoginState(
  c: Context,
  credentialsKey: Uint8Array,
  state: Omit<LoginState, 'exp'>,
  now: number
): Promise<void> {
  const value: LoginState = { ...state, exp: Math.floor(now / 1000) + LOGIN_STATE_SECONDS }
  await setSignedCookie(
    c,
    LOGIN_COOKIE,
    encodeValue(value),
    await cookieKey(credentialsKey, 'login'),
    { ...COOKIE_OPTIONS, maxAge: LOGIN_STATE_SECONDS }
  )
}

/** A sign-in is finished (or abandoned) once the callback has run: its cookie goes. */
export function clearLoginState(c: Context): void {
  deleteCookie(c, LOGIN_COOKIE, COOKIE_OPTIONS)
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfTokenMatches(submitted: string, session: ApproverSession): boolean {
  const a = utf8(submitted)
  const b = utf8(session.csrf)
  // timingSafeEqual refuses different lengths; the length of a random token is no secret.
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b)
}
