import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../../src/db/client.ts'
import type { Caller } from '../../../src/pipeline/types.ts'
import { verifyChain } from '../../../src/recorder/hash-chain.ts'
import { SessionRecorder } from '../../../src/recorder/session-recorder.ts'
import { chunkKey } from '../../../src/recorder/transcript-keys.ts'
import { readTranscriptLines } from '../../../src/recorder/transcript-reader.ts'

const caller: Caller = {
  id: 'agent:unit',
  name: 'unit',
  via: 'agent_token',
  idpGroups: [],
  scope: ['*'],
}

function newRecorder() {
  return new SessionRecorder(
    { bucket: env.SESSIONS, db: openDatabase(env.DB), now: Date.now },
    { protocol: 'test', connectionName: 'unit', caller, client: {} }
  )
}

async function recordedLines(events = 4): Promise<{ id: string; lines: string[] }> {
  const recorder = newRecorder()
  for (let i = 0; i < events; i++) {
    recorder.append('admin.action', { i })
    // Spread events over several chunks, as a long session would.
    if (i % 2 === 0) await recorder.flush()
  }
  await recorder.close()
  return { id: recorder.id, lines: await readTranscriptLines(env.SESSIONS, recorder.prefix) }
}

describe('hash chain', () => {
  it('verifies an untouched transcript written over several chunks', async () => {
    const { id, lines } = await recordedLines()
    expect(lines).toHaveLength(6)
    expect(await verifyChain(id, lines)).toMatchObject({ intact: true, events: 6 })
  })

  it('detects a modified event', async () => {
    const { id, lines } = await recordedLines()
    const tampered = [...lines]
    tampered[2] = (tampered[2] ?? '').replace('"i":1', '"i":7')
    expect(await verifyChain(id, tampered)).toEqual({
      intact: false,
      events: 6,
      brokenAt: 3,
      problem: 'prev_mismatch',
    })
  })

  it('detects a removed event', async () => {
    const { id, lines } = await recordedLines()
    const removed = lines.filter((_, index) => index !== 2)
    expect(await verifyChain(id, removed)).toMatchObject({
      intact: false,
      brokenAt: 2,
      problem: 'seq_gap',
    })
  })

  it('detects two reordered events', async () => {
    const { id, lines } = await recordedLines()
    const reordered = [lines[0], lines[2], lines[1], ...lines.slice(3)] as string[]
    expect(await verifyChain(id, reordered)).toMatchObject({
      intact: false,
      brokenAt: 1,
      problem: 'seq_gap',
    })
  })

  it('detects an event appended after the fact', async () => {
    const { id, lines } = await recordedLines()
    const last = JSON.parse(lines.at(-1) ?? '{}')
    const appended = [...lines, JSON.stringify({ ...last, seq: lines.length, prev: last.prev })]
    expect(await verifyChain(id, appended)).toMatchObject({
      intact: false,
      brokenAt: lines.length,
      problem: 'prev_mismatch',
    })
  })

  it('detects an event copied in from another session', async () => {
    const one = await recordedLines()
    const other = await recordedLines()
    const mixed = [...one.lines.slice(0, 3), other.lines[3] ?? '', ...one.lines.slice(4)]
    expect(await verifyChain(one.id, mixed)).toMatchObject({
      intact: false,
      brokenAt: 3,
      problem: 'wrong_session',
    })
  })

  it('never overwrites a chunk: a pre-existing object at the next key fails the flush', async () => {
    const recorder = newRecorder()
    await env.SESSIONS.put(chunkKey(recorder.prefix, 0), 'planted\n')
    await expect(recorder.flush()).rejects.toThrow(/already exists/)
    expect(await (await env.SESSIONS.get(chunkKey(recorder.prefix, 0)))?.text()).toBe('planted\n')
  })
})
