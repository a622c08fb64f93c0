/**
 * Starts the real dev stack once for the e2e tests, as a person would (`gatehouse dev`
 * with its own ports and a fresh state directory), and hands what its banner printed to
 * the tests with `provide`. Stops it (SIGTERM, like Ctrl+C) and removes the state after.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startDevStack } from './dev-stack.ts'
import { freePort } from './free-port.ts'

export default async function setup(project: TestProject) {
  const state = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'))
  const stack = await startDevStack(state, 'e2e-dev').catch(async (error: unknown) => {
    await rm(state, { recursive: true, force: true })
    throw error
  })
  const originEnv = await readFile(join(state, 'demo-origin.env'), 'utf8')
  project.provide('gatewayUrl', stack.gatewayUrl)
  project.provide('adminToken', stack.adminToken)
  project.provide('agentToken', stack.agentToken)
  project.provide('quickStartCurls', stack.curls)
  project.provide('demoOriginUrl', stack.originUrl)
  project.provide('demoOriginToken', /^DEMO_ORIGIN_TOKEN=(\S+)$/m.exec(originEnv)?.[1] ?? '')
  project.provide('devStateDir', state)
  project.provide('deadPort', await freePort())
  return async () => {
    const code = await stack.stop()
    await rm(state, { recursive: true, force: true })
    if (code !== 0) throw new Error(`gatehouse dev exited with ${code} on SIGTERM`)
  }
}
