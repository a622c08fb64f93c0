/**
 * How approval and sign-in pages leave the gateway: strict security headers on every
 * response (no script, no framing, no referrer, no caching of what an approver saw) and
 * errors rendered as a page instead of the data path's JSON.
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { JSX } from 'hono/jsx/jsx-runtime'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from '../../app-env.ts'
import { toBase64 } from '../../encoding.ts'
import { type ErrorCode, GatehouseError, toGatehouseError } from '../../errors.ts'
import { PAGE_CSS } from './layout.tsx'
import { MessagePage } from './message-page.tsx'

/**
 * What one response may load besides the page's own inline stylesheets, granted by the
 * handler that renders it (the console's terminal player: its script, stylesheet and the
 * recording it fetches, all from 'self'). Every other page stays without script.
 */
export type PageSources = { script?: string[]; style?: string[]; connect?: string[] }

const grantedSources = new WeakMap<Context, PageSources>()

/** Widens this response's Content-Security-Policy by `sources` (see PageSources). */
export function grantPageSources(c: Context, sources: PageSources): void {
  grantedSources.set(c, sources)
}

/**
 * Page security headers (no script, no framing, no referrer, no caching) on whatever the
 * routes return, redirects included, with exactly these inline stylesheets allowed by
 * their CSP3 hash-sources (computed once per isolate), plus what the handler granted.
 */
export function securityHeaders(stylesheets: readonly string[]): MiddlewareHandler<AppEnv> {
  let styleSources: Promise<string> | undefined
  return async (c, next) => {
    await next()
    styleSources ??= Promise.all(
      stylesheets.map(async (css) => {
        const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(css))
        return `'sha256-${toBase64(new Uint8Array(digest))}'`
      })
    ).then((sources) => sources.join(' '))
    const granted = grantedSources.get(c) ?? {}
    const headers = c.res.headers
    headers.set(
      'content-security-policy',
      [
        "default-src 'none'",
        `style-src ${[await styleSources, ...(granted.style ?? [])].join(' ')}`,
        ...(granted.script ? [`script-src ${granted.script.join(' ')}`] : []),
        ...(granted.connect ? [`connect-src ${granted.connect.join(' ')}`] : []),
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ].join('; ')
    )
    headers.set('x-frame-options', 'DENY')
    headers.set('referrer-policy', 'no-referrer')
    headers.set('cache-control', 'no-store')
    headers.set('x-content-type-options', 'nosniff')
  }
}

/** The approval and sign-in pages' headers: their one stylesheet. */
export const pageSecurityHeaders = securityHeaders([PAGE_CSS])

/** A complete HTML document from a page component. */
export async function htmlPage(
  c: Context<AppEnv>,
  page: JSX.Element,
  status: ContentfulStatusCode = 200
): Promise<Response> {
  return c.html(`<!doctype html>${await page}`, status)
}

const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'request.invalid',
  413: 'request.too_large',
}

/** The error page: the code and message a person can act on, never the detail. */
export const pageErrorHandler: ErrorHandler<AppEnv> = (thrown, c) => {
  const error =
    thrown instanceof HTTPException
      ? new GatehouseError(HTTP_EXCEPTION_CODES[thrown.status] ?? 'internal', thrown.message, {
          cause: thrown,
        })
      : toGatehouseError(thrown)
  const log = {
    code: error.code,
    status: error.status,
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    detail: error.detail,
  }
  if (error.status >= 500) console.error('gatehouse error', log)
  else console.warn('gatehouse refusal', log)
  return htmlPage(
    c,
    MessagePage({ title: titleOf(error), message: error.message, code: error.code }),
    error.status
  )
}

function titleOf(error: GatehouseError): string {
  if (error.code.startsWith('auth.')) return 'Sign-in problem'
  if (error.status === 404) return 'Not found'
  if (error.status >= 500) return 'Something went wrong'
  return 'Refused'
}
