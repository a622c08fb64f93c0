/**
 * Refuses cross-site form posts before anything else is looked at, like hono's `csrf`
 * middleware but answering with a GatehouseError. The per-session CSRF token is the main
 * defence; this is the second, for browsers that send Fetch Metadata.
 */
import { GatehouseError } from '../errors.ts'

/** Throws `auth.csrf_failed` unless the request comes from a page of this gateway. */
export function assertSameOriginPost(request: Request, publicUrl: string | undefined): void {
  const site = request.headers.get('sec-fetch-site')
  const origin = request.headers.get('origin')
  const allowed = new Set([new URL(request.url).origin])
  if (publicUrl) allowed.add(new URL(publicUrl).origin)
  if (site !== null && site !== 'same-origin') throw csrfFailed(`Sec-Fetch-Site: ${site}`)
  // Fetch §3.1: under `Referrer-Policy: no-referrer` (ours) browsers post `Origin: null`,
  // so an opaque origin is accepted only when Fetch Metadata vouches for the site.
  if (origin === 'null' ? site === null : origin !== null && !allowed.has(origin)) {
    throw csrfFailed(`Origin: ${origin}`)
  }
}

function csrfFailed(detail: string): GatehouseError {
  return new GatehouseError(
    'auth.csrf_failed',
    'This form was not sent from a Gatehouse page. Open the approval link again and decide there.',
    { detail }
  )
}
