/**
 * `GET /.well-known/gatehouse/ssh-host-key`: the gateway's SSH host key as an OpenSSH
 * public key line, so agents can pin it (`@cert-authority`-free known_hosts entries for
 * the local tunnel port) instead of trusting it on first use.
 */
import { Hono } from 'hono'
import type { AppEnv } from '../../app-env.ts'
import { gatewayHostKey } from './keys/gateway-host-key.ts'
import { fingerprint, publicKeyLine } from './keys/public-key.ts'

export const sshHostKeyRoutes = new Hono<AppEnv>()

sshHostKeyRoutes.get('/', async (c) => {
  const { publicKey } = await gatewayHostKey(c.var.gateway.config)
  return c.json(
    { key: publicKeyLine(publicKey), fingerprint: await fingerprint(publicKey.blob) },
    200,
    { 'cache-control': 'public, max-age=300' }
  )
})
