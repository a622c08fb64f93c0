/**
 * GET /.well-known/gatehouse/signing-keys: the public half of the key that signs session
 * manifests, then those of retired keys, as a JWK set (RFC 7517), so anyone holding an
 * export can check it offline, also one signed before a rotation.
 */
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { publishedSigningKeys } from './signing-key.ts'

/** Verifiers may cache the set this long; a rotated key shows up within it. */
const KEY_SET_MAX_AGE_SECONDS = 300

export const signingKeyRoutes = new Hono<AppEnv>()

signingKeyRoutes.get('/', async (c) => {
  const keys = await publishedSigningKeys(c.var.gateway.config)
  return c.json({ keys }, 200, {
    'cache-control': `public, max-age=${KEY_SET_MAX_AGE_SECONDS}`,
  })
})
