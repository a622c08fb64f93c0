/**
 * What the e2e setup registers for the SSH tests, through the admin API as an admin would:
 * `box` (key auth, the ed25519 host key pinned) and `box-password` (password auth, the RSA
 * host key pinned), both on the private sshd, their policy merged into the document in
 * force (applied whole, so the demo and Postgres sections stay as they are), and one agent
 * token for both.
 */

import type { SshdServer } from '../../harness/sshd-server.ts'
import { adminClient, fixtureSections, mergeIntoPolicy } from './policy-sections.ts'

export const SSH_CONNECTION = 'box'
export const SSH_PASSWORD_CONNECTION = 'box-password'
/** The agent the SSH token stands for (member of group:ssh-agents). */
export const SSH_AGENT = 'e2e-ssh-agent'

export type SshAccess = {
  /** Agent token (agent:e2e-ssh-agent) for `box` and `box-password`. */
  agentToken: string
}

export async function registerSshConnections(
  gatewayUrl: string,
  adminToken: string,
  server: SshdServer
): Promise<SshAccess> {
  const sshPolicy = fixtureSections('ssh-policy.yaml')
  const admin = adminClient(gatewayUrl, adminToken)

  await admin('PUT', `/v1/admin/connections/${SSH_CONNECTION}`, {
    kind: 'ssh',
    target: { host: server.host, port: server.port, hostKey: server.hostKeys.ed25519 },
    credential: { type: 'key', username: server.user, privateKey: server.clientPrivateKey },
    description: 'e2e: the test sshd, key login',
  })
  await admin('PUT', `/v1/admin/connections/${SSH_PASSWORD_CONNECTION}`, {
    kind: 'ssh',
    target: { host: server.host, port: server.port, hostKey: server.hostKeys.rsa },
    credential: { type: 'password', username: server.user, password: server.password },
    description: 'e2e: the test sshd, password login',
  })

  await mergeIntoPolicy(admin, sshPolicy, 'e2e: SSH connections')

  const minted = (await admin('POST', '/v1/admin/tokens', {
    name: SSH_AGENT,
    connections: [SSH_CONNECTION, SSH_PASSWORD_CONNECTION],
  })) as { token: string }
  return { agentToken: minted.token }
}
