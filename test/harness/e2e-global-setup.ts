/**
 * Starts the real dev stack once for the e2e tests, as a person would (`gatehouse dev`
 * with its own ports and a fresh state directory), and hands what its banner printed to
 * the tests with `provide`. Beside it, a private PostgreSQL cluster (seeded) that the
 * stack reaches as the `appdb` and `benchdb` connections, and a private sshd reached as
 * `box` and `box-password`. Stops them all (the stack with SIGTERM, like Ctrl+C) and
 * removes the state after.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { registerPostgresConnections } from '../e2e/support/postgres-connections.ts'
import { registerSshConnections } from '../e2e/support/ssh-connections.ts'
import { type DevStack, startDevStack } from './dev-stack.ts'
import { freePort } from './free-port.ts'
import { seedPostgres } from './postgres-fixtures.ts'
import { type PostgresServer, startPostgres } from './postgres-server.ts'
import { type SshdServer, startSshd } from './sshd-server.ts'

export default async function setup(project: TestProject) {
  const state = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'))
  const [stackStart, postgresStart, sshdStart] = await Promise.allSettled([
    startDevStack(state, 'e2e-dev'),
    startPostgres(),
    startSshd({ logName: 'sshd-e2e' }),
  ])
  const stack = stackStart.status === 'fulfilled' ? stackStart.value : undefined
  const postgres = postgresStart.status === 'fulfilled' ? postgresStart.value : undefined
  const sshd = sshdStart.status === 'fulfilled' ? sshdStart.value : undefined
  const teardown = async () => {
    const code = await stack?.stop()
    await postgres?.stop()
    await sshd?.stop()
    await rm(state, { recursive: true, force: true })
    return code
  }
  try {
    if (stackStart.status === 'rejected') throw stackStart.reason
    if (postgresStart.status === 'rejected') throw postgresStart.reason
    if (sshdStart.status === 'rejected') throw sshdStart.reason
    await provideStack(project, stack as DevStack, state)
    // One after the other: each merges its sections into the policy in force (If-Match).
    await providePostgres(project, stack as DevStack, postgres as PostgresServer)
    await provideSsh(project, stack as DevStack, sshd as SshdServer)
  } catch (error) {
    await teardown()
    throw error
  }
  return async () => {
    const code = await teardown()
    if (code !== 0) throw new Error(`gatehouse dev exited with ${code} on SIGTERM`)
  }
}

async function provideStack(project: TestProject, stack: DevStack, state: string) {
  const originEnv = await readFile(join(state, 'demo-origin.env'), 'utf8')
  project.provide('gatewayUrl', stack.gatewayUrl)
  project.provide('adminToken', stack.adminToken)
  project.provide('agentToken', stack.agentToken)
  project.provide('approverToken', stack.approverToken)
  project.provide('quickStartCurls', stack.curls)
  project.provide('demoOriginUrl', stack.originUrl)
  project.provide('demoOriginToken', /^DEMO_ORIGIN_TOKEN=(\S+)$/m.exec(originEnv)?.[1] ?? '')
  project.provide('devStateDir', state)
  project.provide('deadPort', await freePort())
}

async function providePostgres(project: TestProject, stack: DevStack, postgres: PostgresServer) {
  seedPostgres(postgres)
  const access = await registerPostgresConnections(stack.gatewayUrl, stack.adminToken, postgres)
  project.provide('postgresPort', postgres.port)
  project.provide('postgresAgentToken', access.agentToken)
  project.provide('postgresMaskedToken', access.maskedToken)
  project.provide('postgresBenchToken', access.benchToken)
}

async function provideSsh(project: TestProject, stack: DevStack, sshd: SshdServer) {
  const access = await registerSshConnections(stack.gatewayUrl, stack.adminToken, sshd)
  project.provide('sshPort', sshd.port)
  project.provide('sshAgentToken', access.agentToken)
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
}
