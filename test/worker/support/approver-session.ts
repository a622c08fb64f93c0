/**
 * A person signing in to the approval page as a browser would: the gateway's /auth/login,
 * the real provider's login and consent forms, the gateway's /auth/callback. Cookies are
 * carried by hand, so tests can also tamper with them.
 */
import { expect } from 'vitest'
import type { TestPerson } from '../../harness/oidc-clients.ts'
import { signInAtProvider } from '../../harness/oidc-login.ts'
import { GATEWAY, gatewayFetch } from './gateway.ts'

export const SESSION_COOKIE = '__Host-gatehouse_approver'
export const LOGIN_COOKIE = '__Host-gatehouse_login'

/** `name=value` of the Set-Cookie line for `name`, and the whole line. */
export function setCookie(response: Response, name: string): { pair: string; line: string } {
  const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`))
  if (!line) throw new Error(`no Set-Cookie for ${name} (status ${response.status})`)
  return { pair: line.split(';')[0] ?? '', line }
}

/** Starts a sign-in at the gateway: where it sends the browser and the login cookie. */
export async function startLogin(
  returnTo: string
): Promise<{ location: URL; loginCookie: string }> {
  const response = await gatewayFetch(`/auth/login?return=${encodeURIComponent(returnTo)}`, {
    redirect: 'manual',
  })
  expect(response.status, await response.clone().text()).toBe(302)
  return {
    location: new URL(response.headers.get('location') ?? ''),
    loginCookie: setCookie(response, LOGIN_COOKIE).pair,
  }
}

/** Where the provider sends the browser back to, as a gateway path with query. */
export async function providerCallback(location: URL, person: TestPerson): Promise<string> {
  const back = new URL(await signInAtProvider(location.href, person))
  expect(back.origin).toBe(GATEWAY)
  return `${back.pathname}${back.search}`
}

export function callback(path: string, cookie?: string): Promise<Response> {
  return gatewayFetch(path, { redirect: 'manual', headers: cookie ? { cookie } : {} })
}

/** Signs `person` in for `returnTo`; returns the session cookie and the callback response. */
export async function signIn(
  person: TestPerson,
  returnTo: string
): Promise<{ cookie: string; response: Response }> {
  const { location, loginCookie } = await startLogin(returnTo)
  const response = await callback(await providerCallback(location, person), loginCookie)
  expect(response.status, await response.clone().text()).toBe(303)
  return { cookie: setCookie(response, SESSION_COOKIE).pair, response }
}

/** The CSRF token a page's forms carry. */
export function csrfOf(html: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1]
  if (!token) throw new Error(`no csrf field in the page:\n${html}`)
  return token
}

/** The error or refusal code a page shows, e.g. `auth.csrf_failed`. */
export function pageCode(html: string): string | undefined {
  return /\(([a-z]+\.[a-z_]+)\)<\/span>/.exec(html)?.[1]
}

/** The signed value of a cookie pair split into its JSON payload and signature. */
export function openCookie(pair: string): {
  name: string
  payload: Record<string, unknown>
  signature: string
} {
  const separator = pair.indexOf('=')
  const value = decodeURIComponent(pair.slice(separator + 1))
  const dot = value.lastIndexOf('.')
  const json = atob(value.slice(0, dot).replace(/-/g, '+').replace(/_/g, '/'))
  return {
    name: pair.slice(0, separator),
    payload: JSON.parse(json) as Record<string, unknown>,
    signature: value.slice(dot + 1),
  }
}

/** A cookie pair with `payload` and whatever signature the caller chooses (or none). */
export function sealCookie(name: string, payload: unknown, signature?: string): string {
  const encoded = btoa(JSON.stringify(payload))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
  return `${name}=${encodeURIComponent(signature === undefined ? encoded : `${encoded}.${signature}`)}`
}

/** A same-origin form post, as the page's own forms are sent by a browser. */
export function postForm(
  path: string,
  fields: Record<string, string>,
  cookie: string | undefined,
  headers: Record<string, string> = { origin: GATEWAY, 'sec-fetch-site': 'same-origin' }
): Promise<Response> {
  return gatewayFetch(path, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(cookie ? { cookie } : {}),
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  })
}
