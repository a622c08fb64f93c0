/**
 * Approver sign-in routes, mounted at `/auth`: `GET /login` sends the browser to the IdP,
 * `GET /callback` turns the IdP's answer into a signed session cookie, `POST /logout`
 * ends it. A sign-in only ever returns to an approval page or a console page (`/ui`), so
 * the `return` parameter cannot be used as an open redirect.
 */
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { htmlPage, pageErrorHandler, pageSecurityHeaders } from '../approvals/page/html-response.ts'
import { MessagePage } from '../approvals/page/message-page.tsx'
import type { Config, OidcConfig, OidcLoginConfig } from '../config.ts'
import { GatehouseError } from '../errors.ts'
import {
  clearApproverSession,
  clearLoginState,
  csrfTokenMatches,
  readApproverSession,
  readLoginState,
  writeApproverSession,
  writeLoginState,
} from './approver-cookie.ts'
import { finishSignIn, startSignIn } from './approver-oidc.ts'
import { assertSameOriginPost } from './same-origin.ts'

/** Where these routes are mounted; the IdP must list `<PUBLIC_URL>/auth/callback`. */
const AUTH_PREFIX = '/auth'
const CALLBACK_PATH = `${AUTH_PREFIX}/callback`

/**
 * The only places a sign-in returns to: one approval page, optionally with an intent, or a
 * console page with its (form-encoded) filters. Both are paths of this origin.
 */
const RETURN_PATH =
  /^(\/approvals\/[0-9a-f]{64}(\?intent=(approve|deny))?|\/ui(\/[\w-]+)*(\?[\w.~%&=+*-]*)?)$/

/** Whether a sign-in may come back to `path`. */
export function isSignInReturnPath(path: string): boolean {
  return RETURN_PATH.test(path)
}

/** The sign-in URL that comes back to `returnTo` (an approval page path). */
export function loginPath(returnTo: string): string {
  return `${AUTH_PREFIX}/login?return=${encodeURIComponent(returnTo)}`
}

export const approverLoginRoutes = new Hono<AppEnv>()

approverLoginRoutes.use(pageSecurityHeaders)
approverLoginRoutes.onError(pageErrorHandler)

approverLoginRoutes.get('/login', async (c) => {
  const gateway = c.get('gateway')
  const { oidc, login } = signInConfig(gateway.config, gateway.publicUrl)
  const returnTo = c.req.query('return') ?? ''
  if (!RETURN_PATH.test(returnTo)) {
    throw new GatehouseError(
      'request.invalid',
      'A sign-in can only return to an approval page (/approvals/<id>) or the console (/ui).',
      { detail: `return=${returnTo.slice(0, 200)}` }
    )
  }
  const now = gateway.now()
  const { url, secrets } = await startSignIn(oidc, login, callbackUrl(gateway.publicUrl), now)
  await writeLoginState(c, gateway.config.credentialsKey, { ...secrets, returnTo }, now)
  return c.redirect(url.href, 302)
})

approverLoginRoutes.get('/callback', async (c) => {
  const gateway = c.get('gateway')
  const { oidc, login } = signInConfig(gateway.config, gateway.publicUrl)
  const now = gateway.now()
  const pending = await readLoginState(c, gateway.config.credentialsKey, now)
  // One attempt per started sign-in: the state cookie goes whatever happens next.
  clearLoginState(c)
  if (!pending || !RETURN_PATH.test(pending.returnTo)) {
    throw new GatehouseError(
      'auth.login_failed',
      'This sign-in was not started in this browser or took too long. Open the approval link again.',
      { detail: pending ? `bad returnTo ${pending.returnTo}` : 'no valid login state cookie' }
    )
  }
  const identity = await finishSignIn(
    oidc,
    login,
    callbackUrl(gateway.publicUrl),
    new URL(c.req.url),
    pending,
    now
  )
  await writeApproverSession(
    c,
    gateway.config.credentialsKey,
    {
      sub: identity.subject,
      email: identity.email,
      groups: identity.groups,
      iss: identity.issuer,
    },
    now
  )
  return c.redirect(pending.returnTo, 303)
})

approverLoginRoutes.post('/logout', async (c) => {
  const gateway = c.get('gateway')
  assertSameOriginPost(c.req.raw, gateway.publicUrl)
  const session = await readApproverSession(c, gateway.config.credentialsKey, gateway.now())
  if (session) {
    const form = await c.req.parseBody()
    const csrf = typeof form.csrf === 'string' ? form.csrf : ''
    if (!csrfTokenMatches(csrf, session)) {
      throw new GatehouseError(
        'auth.csrf_failed',
        'The sign-out form has expired; reload the page.'
      )
    }
  }
  clearApproverSession(c)
  return htmlPage(
    c,
    MessagePage({ title: 'Signed out', message: 'You are signed out of Gatehouse.', tone: 'ok' })
  )
})

/** Sign-in needs an issuer and a client id; without them the page says what to set. */
function signInConfig(
  config: Config,
  publicUrl: string
): { oidc: OidcConfig; login: OidcLoginConfig } {
  if (config.oidc && config.oidcLogin) return { oidc: config.oidc, login: config.oidcLogin }
  throw new GatehouseError(
    'auth.login_unavailable',
    `Approver sign-in is not configured on this gateway. An administrator sets OIDC_ISSUER and OIDC_CLIENT_ID (plus the OIDC_CLIENT_SECRET secret for a confidential client) and registers ${callbackUrl(publicUrl)} as a redirect URI at the identity provider.`
  )
}

function callbackUrl(publicUrl: string): string {
  return `${publicUrl}${CALLBACK_PATH}`
}
