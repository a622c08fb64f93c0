/**
 * What the gateway recorded of a psql session: found through the admin API's session
 * index (protocol postgres), its transcript holds each statement's text and decision
 * before that statement's outcome, and its hash chain verifies.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { eventually } from './support/gateway.ts'
import { psql, sessionIdFrom, startTunnel, type Tunnel } from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

type TranscriptEvent = { seq: number; type: string; data: Record<string, unknown> }
type SessionRow = {
  id: string
  protocol: string
  connectionName: string
  callerId: string
  status: string
  commands: number
  allowed: number
  blocked: number
}

let tunnel: Tunnel

beforeAll(async () => {
  tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
})

afterAll(async () => {
  await tunnel?.stop()
})

async function admin<T>(path: string): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${inject('gatewayUrl')}${path}`, {
    headers: { authorization: `Bearer ${inject('adminToken')}` },
  })
  const text = await response.text()
  const json = response.headers.get('content-type')?.startsWith('application/json')
    ? JSON.parse(text)
    : null
  return { status: response.status, body: json as T, text }
}

describe('the recording of a psql session', () => {
  it('lists the session under protocol=postgres and records each statement before its outcome', async () => {
    const statements = [
      'SELECT count(*) FROM customers;',
      'SELECT value FROM secrets;',
      "SELECT 'recorded' AS word;",
    ]
    const result = await psql(tunnel.port, [
      '-At',
      '-c',
      statements[0] ?? '',
      '-c',
      statements[1] ?? '',
      '-c',
      statements[2] ?? '',
    ])
    expect(result.stdout).toBe('3\nrecorded\n')
    const id = sessionIdFrom(result.stderr)

    const row = await eventually(async () => {
      const listed = await admin<{ sessions: SessionRow[] }>(
        '/v1/admin/sessions?protocol=postgres&connection=appdb&limit=200'
      )
      const found = listed.body.sessions.find((session) => session.id === id)
      if (found?.status !== 'closed') throw new Error(`session ${id} is not closed yet`)
      return found
    })
    expect(row).toMatchObject({
      protocol: 'postgres',
      connectionName: 'appdb',
      callerId: 'agent:e2e-pg-agent',
      commands: 3,
      allowed: 2,
      blocked: 1,
    })

    const transcript = await admin<null>(`/v1/admin/sessions/${id}/transcript`)
    expect(transcript.status).toBe(200)
    const events = transcript.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as TranscriptEvent)
    expect(events[0]?.type).toBe('session.start')
    expect(events.at(-1)?.type).toBe('session.end')

    const commands = events.filter((event) => event.type === 'command')
    expect(
      commands.map((event) => {
        const { command, decision } = event.data as {
          command: { text: string }
          decision: { action: string; rule: { name: string } | null }
        }
        return [command.text, decision.action, decision.rule?.name]
      })
    ).toEqual([
      ['SELECT count(*) FROM customers;', 'allow', 'reads-and-sessions'],
      ['SELECT value FROM secrets;', 'block', 'no-secrets'],
      ["SELECT 'recorded' AS word;", 'allow', 'reads-and-sessions'],
    ])
    for (const command of commands) {
      const outcome = events.find(
        (event) => event.type === 'outcome' && event.data.command === command.seq
      )
      expect(outcome, `outcome of command #${command.seq}`).toBeDefined()
      expect(outcome?.seq).toBeGreaterThan(command.seq)
    }
    expect(
      events
        .filter((event) => event.type === 'outcome')
        .map((event) => (event.data as { status: string }).status)
    ).toEqual(['ok', 'blocked', 'ok'])

    const verified = await admin<{ chain: { intact: boolean }; matchesIndex: boolean }>(
      `/v1/admin/sessions/${id}/verify`
    )
    expect(verified.body).toMatchObject({ chain: { intact: true }, matchesIndex: true })
  })
})
