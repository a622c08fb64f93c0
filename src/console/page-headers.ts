/**
 * Security headers of console pages: those of the approval pages (no script, no framing,
 * no referrer, no caching), with the console's stylesheet allowed by its hash beside the
 * approval pages' one (the error and refusal pages are theirs).
 */
import type { MiddlewareHandler } from 'hono'
import { PAGE_CSS } from '../approvals/page/layout.tsx'
import { toBase64 } from '../encoding.ts'
import { CONSOLE_CSS } from './pages/layout.tsx'

let styleSources: Promise<string> | undefined

/** CSP3 hash-sources of both inline stylesheets, computed once per isolate. */
function consoleStyleSources(): Promise<string> {
  styleSources ??= Promise.all(
    [CONSOLE_CSS, PAGE_CSS].map(async (css) => {
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(css))
      return `'sha256-${toBase64(new Uint8Array(digest))}'`
    })
  ).then((sources) => sources.join(' '))
  return styleSources
}

/** Sets the page security headers on whatever a console route returns, redirects included. */
export const consoleSecurityHeaders: MiddlewareHandler = async (c, next) => {
  await next()
  const headers = c.res.headers
  headers.set(
    'content-security-policy',
    [
      "default-src 'none'",
      `style-src ${await consoleStyleSources()}`,
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
