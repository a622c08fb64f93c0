/**
 * The MCP authorization spec's discovery: RFC 9728 protected-resource metadata for
 * `<PUBLIC_URL>/mcp` at `/.well-known/oauth-protected-resource/mcp` (§3.1: the resource's
 * path after the well-known prefix), and every 401 from /mcp pointing to it with the
 * `resource_metadata` parameter of its `WWW-Authenticate` challenge (§5.1).
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'

export const MCP_PATH = '/mcp'
export const PROTECTED_RESOURCE_PATH = `/.well-known/oauth-protected-resource${MCP_PATH}`

/** Metadata changes with configuration only; clients may keep it a while. */
const METADATA_MAX_AGE_SECONDS = 300

export function protectedResourceMetadata(c: Context<AppEnv>): Response {
  const { gateway } = c.var
  const issuer = gateway.config.oidc?.issuer
  return c.json(
    {
      resource: `${gateway.publicUrl}${MCP_PATH}`,
      // Agent tokens are minted by Gatehouse admins; OIDC tokens come from this issuer.
      ...(issuer ? { authorization_servers: [issuer] } : {}),
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
    },
    200,
    { 'cache-control': `public, max-age=${METADATA_MAX_AGE_SECONDS}` }
  )
}

/** Adds `resource_metadata` to the Bearer challenge of a 401 answered under it. */
export const resourceMetadataChallenge: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next()
  if (c.res.status !== 401) return
  const challenge = c.res.headers.get('www-authenticate') ?? 'Bearer realm="gatehouse"'
  c.res.headers.set(
    'www-authenticate',
    `${challenge}, resource_metadata="${c.var.gateway.publicUrl}${PROTECTED_RESOURCE_PATH}"`
  )
}
