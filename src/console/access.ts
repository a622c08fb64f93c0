/**
 * Who may use the console, and how its forms are checked. A person signs in through the
 * approver sign-in (OIDC code + PKCE, signed `__Host-` cookie); the IdP groups read at
 * sign-in must include one of CONSOLE_GROUPS (responders) or ADMIN_GROUPS. Both roles may
 * look at everything and contain (revoke a token, kill a session): containment is the
 * responder's job. Changing connections, policy or minting tokens stays in the admin API.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { htmlPage } from '../approvals/page/html-response.ts'
import { MessagePage } from '../approvals/page/message-page.tsx'
import type { Config } from '../config.ts'
import { ERROR_STATUS, GatehouseError } from '../errors.ts'
import {
  type ApproverSession,
  csrfTokenMatches,
  readApproverSession,
} from '../identity/approver-cookie.ts'
import { isSignInReturnPath, loginPath } from '../identity/approver-login.ts'
import { assertSameOriginPost } from '../identity/same-origin.ts'
import type { Caller } from '../pipeline/types.ts'

export type ConsoleRole = 'admin' | 'responder'

/** The signed-in console user: their session (CSRF token), role, and who they are as a caller. */
export type ConsoleUser = {
  session: ApproverSession
  role: ConsoleRole
  /** The principal admin actions are recorded under: `user:<sub>` via OIDC. */
  caller: Caller
}

/** The console's home, where a sign-in returns when the page asked for cannot be named. */
export const CONSOLE_HOME = '/ui/sessions'

/** The role of someone in `groups`, or null when they may not use the console. */
export function consoleRole(
  groups: readonly string[],
  config: Pick<Config, 'adminGroups' | 'consoleGroups'>
): ConsoleRole | null {
  if (groups.some((group) => config.adminGroups.includes(group))) return 'admin'
  if (groups.some((group) => config.consoleGroups.includes(group))) return 'responder'
  return null
}

/** A console user as the audit trail names them. */
export function consoleCaller(session: ApproverSession): Caller {
  return {
    id: `user:${session.sub}`,
    name: session.sub,
    via: 'oidc',
    ...(session.email ? { email: session.email } : {}),
    idpGroups: session.groups,
    scope: [],
    issuer: session.iss,
  }
}

/**
 * The user `requireConsoleUser` let in, per request. Kept beside the context rather than in
 * its variables, so console handlers stay `Context<AppEnv>` like every other page's.
 */
const consoleUsers = new WeakMap<Context, ConsoleUser>()

/** The signed-in console user of this request (set by `requireConsoleUser`). */
export function consoleUser(c: Context<AppEnv>): ConsoleUser {
  const user = consoleUsers.get(c)
  if (!user) throw new Error('console route without requireConsoleUser')
  return user
}

/**
 * Lets signed-in responders and admins through. Anyone else reading a page is sent to
 * sign in (and back to the page); a signed-in person outside the groups gets 403.
 */
export const requireConsoleUser = createMiddleware<AppEnv>(async (c, next) => {
  const gateway = c.get('gateway')
  const session = await readApproverSession(c, gateway.config.credentialsKey, gateway.now())
  if (!session) {
    const url = new URL(c.req.url)
    const here = `${url.pathname}${url.search}`
    const back = isSignInReturnPath(here) ? here : CONSOLE_HOME
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect(loginPath(back), 303)
    return htmlPage(
      c,
      MessagePage({
        title: 'Sign in to the console',
        message: 'Your sign-in has expired or is missing. Sign in again and repeat the action.',
        code: 'auth.session_required',
        link: { href: loginPath(back), label: 'Sign in' },
      }),
      ERROR_STATUS['auth.session_required']
    )
  }
  const role = consoleRole(session.groups, gateway.config)
  if (!role) {
    return htmlPage(
      c,
      MessagePage({
        title: 'Not a console user',
        message:
          'The console is for incident responders and gateway administrators. Ask an administrator to add you to one of the console groups, then sign out and in again.',
        code: 'access.denied',
        viewer: session,
      }),
      ERROR_STATUS['access.denied']
    )
  }
  consoleUsers.set(c, { session, role, caller: consoleCaller(session) })
  await next()
})

/**
 * Checks a console form post before anything in it is acted on: same origin (Fetch
 * Metadata / Origin), then the session's CSRF token. Returns the form fields.
 */
export async function readConsoleForm(c: Context<AppEnv>): Promise<Record<string, string | File>> {
  assertSameOriginPost(c.req.raw, c.get('gateway').publicUrl)
  const form = await c.req.parseBody()
  const csrf = typeof form.csrf === 'string' ? form.csrf : ''
  if (!csrfTokenMatches(csrf, consoleUser(c).session)) {
    throw new GatehouseError(
      'auth.csrf_failed',
      'This form has expired or was not sent from a console page. Reload the page and try again.'
    )
  }
  return form
}
