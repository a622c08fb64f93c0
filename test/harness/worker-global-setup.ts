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

export default async function setup(project: TestProject) {
  const [origin, oidc, deadPort, postgres, recording, slack] = await Promise.all([
    startOriginServer(),
    startOidcProvider({ redirectUris: ['https://gatehouse.test/auth/callback'] }),
    freePort(),
    startPostgres(),
    startRecordingPostgres(),
    startSlackServer(),
  ])
  project.provide('recordingPostgres', { port: recording.port, controlPort: recording.controlPort })
  seedPostgres(postgres)
  project.provide('postgresPort', postgres.port)
  project.provide('originPort', origin.port)
  project.provide('deadPort', deadPort)
  project.provide('oidcIssuer', oidc.issuer)
  project.provide('oidcPrivateJwk', JSON.stringify(oidc.privateJwk))
  project.provide('slackUrl', slack.url)
  return async () => {
    await Promise.all([
      origin.close(),
      oidc.close(),
      postgres.stop(),
      recording.close(),
      slack.close(),
    ])
  }
}
