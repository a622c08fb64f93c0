/**
 * Starts the real servers the in-workerd tests talk to, once per run, and hands their
 * addresses to the tests (and to the Worker's bindings) with `provide`.
 */
import type { TestProject } from 'vitest/node'
import { freePort } from './free-port.ts'
import { startOidcProvider } from './oidc-provider.ts'
import { startOriginServer } from './origin-server.ts'
import { seedPostgres } from './postgres-fixtures.ts'
import { startPostgres } from './postgres-server.ts'
import { startRecordingPostgres } from './recording-postgres.ts'
import { startSlackServer } from './slack-server.ts'
import { startSshd } from './sshd-server.ts'

export default async function setup(project: TestProject) {
  const [origin, oidc, deadPort, postgres, recording, slack, sshd] = await Promise.all([
    startOriginServer(),
    startOidcProvider({ redirectUris: ['https://gatehouse.test/auth/callback'] }),
    freePort(),
    startPostgres(),
    startRecordingPostgres(),
    startSlackServer(),
    // Re-keying every 4 MiB: the long outputs in the SSH tests cross several re-exchanges
    // the origin starts, so the gateway's client side is tested on them.
    startSshd({ logName: 'sshd-worker', rekeyLimit: '4M' }),
  ])
  project.provide('recordingPostgres', { port: recording.port, controlPort: recording.controlPort })
  seedPostgres(postgres)
  project.provide('postgresPort', postgres.port)
  project.provide('originPort', origin.port)
  project.provide('deadPort', deadPort)
  project.provide('oidcIssuer', oidc.issuer)
  project.provide('oidcPrivateJwk', JSON.stringify(oidc.privateJwk))
  project.provide('slackUrl', slack.url)
  project.provide('sshd', {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    password: sshd.password,
    clientPrivateKey: sshd.clientPrivateKey,
    clientPublicKey: sshd.clientPublicKey,
    hostKeys: sshd.hostKeys,
    wrongHostKey: sshd.wrongHostKey,
    unauthorizedPrivateKey: sshd.unauthorizedPrivateKey,
    markerDir: sshd.markerDir,
  })
  return async () => {
    await Promise.all([
      origin.close(),
      oidc.close(),
      postgres.stop(),
      recording.close(),
      slack.close(),
      sshd.stop(),
    ])
  }
}
