/**
 * Sessions recorded by the real recorder at a chosen time (long ago, say), as retention
 * and the audit export find them: chunks and manifest in R2, the index row in D1.
 */
import { env } from 'cloudflare:workers'
import { loadConfig } from '../../../src/config.ts'
import { openDatabase } from '../../../src/db/client.ts'
import type { Caller } from '../../../src/pipeline/types.ts'
import { SessionRecorder } from '../../../src/recorder/session-recorder.ts'
import { TerminalRecorder } from '../../../src/recorder/terminal-recorder.ts'
import { terminalPrefix } from '../../../src/recorder/transcript-keys.ts'

export const DAY_MS = 86_400_000

export const RECORDED_CALLER: Caller = {
  id: 'agent:recorded-agent',
  name: 'recorded-agent',
  via: 'agent_token',
  idpGroups: [],
  scope: ['*'],
}

export type RecordedSession = { id: string; prefix: string; startedAt: number }

/**
 * Records a session that started at `startedAt` with `commands` commands (one chunk each,
 * as write-aheads are), and closes it `durationMs` later unless `open`.
 */
export async function recordSessionAt(
  startedAt: number,
  options: {
    commands?: number
    durationMs?: number
    open?: boolean
    connection?: string
    /** Recorded as each command's inline body text. */
    body?: string
    /** `ssh`: also records a terminal (asciicast) with one part. */
    protocol?: 'http' | 'ssh'
  } = {}
): Promise<RecordedSession> {
  let clock = startedAt
  const recorder = new SessionRecorder(
    {
      bucket: env.SESSIONS,
      db: openDatabase(env.DB),
      now: () => clock,
      config: loadConfig(env),
    },
    {
      protocol: options.protocol ?? 'http',
      connectionName: options.connection ?? 'recorded-api',
      caller: RECORDED_CALLER,
      client: {},
    }
  )
  const commands = options.commands ?? 1
  for (let n = 0; n < commands; n++) {
    const seq = recorder.append('command', {
      command: {
        kind: 'http',
        method: 'GET',
        path: `/items/${n}`,
        query: '',
        headers: {},
        body: options.body ? { bytes: options.body.length, text: options.body } : null,
      },
      decision: { action: 'allow', rule: null, reason: 'test' },
    })
    recorder.recordOutcome(seq, { status: 'ok', summary: { status: 200 } })
    await recorder.flush()
  }
  if (options.protocol === 'ssh') {
    const terminal = new TerminalRecorder(
      {
        bucket: env.SESSIONS,
        now: () => clock,
        recordPart: (part) => recorder.append('terminal', { terminal: 0, ...part }),
        onFailure: (error) => {
          throw error
        },
      },
      terminalPrefix(recorder.prefix, 0),
      { active: false, mask: (text) => text },
      { width: 80, height: 24, timestamp: Math.floor(clock / 1000) }
    )
    terminal.output(new TextEncoder().encode('$ ls\r\n'))
    await terminal.close()
  }
  clock += options.durationMs ?? 1_000
  if (!options.open) await recorder.close({ reason: 'done' })
  return { id: recorder.id, prefix: recorder.prefix, startedAt }
}

/** Keys under a prefix, sorted. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const page = await env.SESSIONS.list({ prefix, ...(cursor ? { cursor } : {}) })
    keys.push(...page.objects.map((object) => object.key))
    cursor = page.truncated ? page.cursor : undefined
  } while (cursor)
  return keys.sort()
}
