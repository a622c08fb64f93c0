import { beforeAll, describe, expect, it } from 'vitest'
import { type Manifest, signManifest } from '../../../src/evidence/manifest.ts'
import { importSigningSeed, type SigningKey } from '../../../src/evidence/signing-key.ts'
import {
  type TranscriptVerdict,
  verifyTranscript,
} from '../../../src/evidence/verify-transcript.ts'
import type { PendingEvent } from '../../../src/recorder/event.ts'
import { chainEvents, hashLine } from '../../../src/recorder/hash-chain.ts'

const SID = '01900000-0000-7000-8000-00000000abcd'
const OTHER_SID = '01900000-0000-7000-8000-00000000ef01'
/** Six events: session.start, four admin actions, session.end. */
const EVENTS = 6

let key: SigningKey
let otherKey: SigningKey

beforeAll(async () => {
  key = await importSigningSeed(new Uint8Array(32).fill(7))
  otherKey = await importSigningSeed(new Uint8Array(32).fill(9))
})

function events(sid: string, count: number, closed = true): PendingEvent[] {
  const at = (seq: number) => new Date(Date.UTC(2026, 10, 23, 9, 0, seq)).toISOString()
  const list: PendingEvent[] = [
    {
      seq: 0,
      at: at(0),
      type: 'session.start',
      data: {
        protocol: 'http',
        connection: 'ledger',
        caller: { id: 'agent:unit', name: 'unit', via: 'agent_token' },
        session: sid,
      },
    },
  ]
  for (let seq = 1; seq < count - 1; seq++) {
    list.push({ seq, at: at(seq), type: 'admin.action', data: { action: `step-${seq}` } })
  }
  const last = count - 1
  list.push(
    closed
      ? { seq: last, at: at(last), type: 'session.end', data: {} }
      : { seq: last, at: at(last), type: 'admin.action', data: { action: `step-${last}` } }
  )
  return list
}

/** A closed session as the recorder writes it: its chained lines and its signed manifest. */
async function closedSession(sid = SID, count = EVENTS, signer = () => key) {
  const chained = events(sid, count)
  const { lines, lastHash } = await chainEvents(sid, null, chained)
  const manifest: Manifest = {
    v: 1,
    type: 'gatehouse.session-manifest',
    session: sid,
    transcriptVersion: 1,
    protocol: 'http',
    connection: 'ledger',
    caller: { id: 'agent:unit', name: 'unit', via: 'agent_token' },
    events: count,
    lastHash: lastHash ?? '',
    startedAt: chained[0]?.at ?? '',
    endedAt: chained.at(-1)?.at ?? '',
    signedAt: '2026-11-23T09:01:00.000Z',
  }
  return { lines, manifest: await signManifest(signer(), manifest), lastHash }
}

function verify(lines: readonly string[], manifest?: string, keys = [key.publicJwk]) {
  return verifyTranscript({ sessionId: SID, lines, manifest, keys })
}

/** Rewrites one line's JSON (keeping field order) without fixing the chain. */
function edit(line: string, change: (event: Record<string, unknown>) => void): string {
  const event = JSON.parse(line) as Record<string, unknown>
  change(event)
  return JSON.stringify(event)
}

function kindsOf(verdict: TranscriptVerdict) {
  return verdict.problems.map(({ kind, seq, index }) => ({ kind, seq, index }))
}

describe('intact and incomplete sessions', () => {
  it('verifies an untouched closed session as intact, with its signed manifest', async () => {
    const { lines, manifest, lastHash } = await closedSession()
    expect(await verify(lines, manifest)).toEqual({
      status: 'intact',
      session: SID,
      events: EVENTS,
      lastHash,
      manifest: {
        kid: key.kid,
        signature: 'valid',
        events: EVENTS,
        lastHash,
        signedAt: '2026-11-23T09:01:00.000Z',
      },
      problems: [],
    })
  })

  it('verifies a session cut short (no session.end, no manifest) as incomplete, up to its last event', async () => {
    const { lines, lastHash } = await chainEvents(SID, null, events(SID, 4, false))
    expect(await verify(lines)).toEqual({
      status: 'incomplete',
      session: SID,
      events: 4,
      lastHash,
      manifest: null,
      incomplete:
        'there is no session.end and no signed manifest: the session was cut short, or is still open',
      problems: [],
    })
  })

  it('says so when session.end is there but the manifest is not', async () => {
    const { lines } = await closedSession()
    const verdict = await verify(lines)
    expect(verdict.status).toBe('incomplete')
    expect(verdict.incomplete).toBe('session.end is recorded but there is no signed manifest')
  })

  it('still finds a modified event in an incomplete session', async () => {
    const { lines } = await chainEvents(SID, null, events(SID, 5, false))
    const tampered = lines.with(
      2,
      edit(lines[2] ?? '', (event) => {
        event.data = { action: 'forged' }
      })
    )
    const verdict = await verify(tampered)
    expect(verdict.status).toBe('tampered')
    expect(kindsOf(verdict)).toEqual([{ kind: 'modified', seq: 2, index: 2 }])
  })

  it('verifies an empty transcript without a manifest as incomplete', async () => {
    expect(await verify([])).toMatchObject({ status: 'incomplete', events: 0, lastHash: null })
  })
})

describe('tampering is detected and named', () => {
  it('names the event whose byte was flipped', async () => {
    const { lines, manifest } = await closedSession()
    const line = lines[3] ?? ''
    const at = line.indexOf('step-3') + 'step-'.length
    const flipped =
      line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ 1) + line.slice(at + 1)
    expect(await verify(lines.with(3, flipped), manifest)).toEqual(
      expect.objectContaining({
        status: 'tampered',
        problems: [
          {
            kind: 'modified',
            seq: 3,
            index: 3,
            detail: 'its hash no longer matches the prev recorded by event seq 4',
          },
        ],
      })
    )
  })

  it('names exactly the flipped line, for every single-bit flip of every byte', async () => {
    const { lines, manifest } = await closedSession()
    const seqOf = lines.map((line) => (JSON.parse(line) as { seq: number }).seq)
    for (const [target, line] of lines.entries()) {
      for (let at = 0; at < line.length; at++) {
        const flipped =
          line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ 1) + line.slice(at + 1)
        const verdict = await verify(lines.with(target, flipped), manifest)
        const where = `line ${target} byte ${at} (${JSON.stringify(line[at])})`
        expect(verdict.status, where).toBe('tampered')
        expect(verdict.problems.length, where).toBeGreaterThan(0)
        for (const problem of verdict.problems) {
          expect(
            problem.index === target || problem.seq === seqOf[target],
            `${where}: ${JSON.stringify(problem)}`
          ).toBe(true)
        }
      }
    }
  })

  it('names the event of a seq field that was edited as modified', async () => {
    const { lines, manifest } = await closedSession()
    const tampered = lines.with(2, (lines[2] ?? '').replace('"seq":2', '"seq":9'))
    expect(await verify(tampered, manifest)).toMatchObject({
      status: 'tampered',
      problems: [
        {
          kind: 'modified',
          seq: 2,
          index: 2,
          detail: 'its seq field reads 9, but it chains to the event before it: it is event seq 2',
        },
      ],
    })
  })

  it('names a prev field that was edited, not the event before it', async () => {
    const { lines, manifest } = await closedSession()
    const line = lines[4] ?? ''
    const prev = (JSON.parse(line) as { prev: string }).prev
    const edited = prev.slice(0, -1) + (prev.endsWith('0') ? '1' : '0')
    const verdict = await verify(lines.with(4, line.replace(prev, edited)), manifest)
    expect(kindsOf(verdict)).toEqual([{ kind: 'modified', seq: 4, index: 4 }])
    expect(verdict.problems[0]?.detail).toBe(
      'its prev field was edited: it no longer names the hash of seq 3'
    )
  })

  it('names a deleted event', async () => {
    const { lines, manifest } = await closedSession()
    const verdict = await verify(lines.toSpliced(2, 1), manifest)
    expect(verdict.status).toBe('tampered')
    expect(verdict.problems).toEqual([
      { kind: 'removed', seq: 2, detail: 'event seq 2 is missing, between seq 1 and seq 3' },
    ])
  })

  it('names a run of deleted events', async () => {
    const { lines, manifest } = await closedSession()
    expect((await verify(lines.toSpliced(1, 3), manifest)).problems).toEqual([
      {
        kind: 'removed',
        seq: 1,
        detail: 'events seq 1 to 3 are missing (3 events), between seq 0 and seq 4',
      },
    ])
  })

  it('names events deleted from the end, which only the signed manifest can tell', async () => {
    const { lines, manifest } = await closedSession()
    expect((await verify(lines.slice(0, 4), manifest)).problems).toEqual([
      {
        kind: 'removed',
        seq: 4,
        detail:
          'events seq 4 to 5 are missing (2 events), after seq 3: the signed manifest counts 6 events',
      },
    ])
  })

  it('names the first event when it was deleted', async () => {
    const { lines, manifest } = await closedSession()
    expect((await verify(lines.slice(1), manifest)).problems).toEqual([
      { kind: 'removed', seq: 0, detail: 'event seq 0 is missing, before seq 1' },
    ])
  })

  it('names two adjacent events that were swapped', async () => {
    const { lines, manifest } = await closedSession()
    const swapped = lines.with(1, lines[2] ?? '').with(2, lines[1] ?? '')
    const verdict = await verify(swapped, manifest)
    expect(verdict.status).toBe('tampered')
    expect(verdict.problems).toEqual([
      {
        kind: 'reordered',
        seq: 2,
        index: 1,
        detail: 'event seq 2 stands between seq 0 and seq 1; it belongs after seq 1',
      },
    ])
  })

  it('names both of two distant events that were swapped, and no others', async () => {
    const { lines, manifest } = await closedSession()
    const swapped = lines.with(1, lines[4] ?? '').with(4, lines[1] ?? '')
    expect(kindsOf(await verify(swapped, manifest))).toEqual([
      { kind: 'reordered', seq: 1, index: 4 },
      { kind: 'reordered', seq: 4, index: 1 },
    ])
  })

  it('names one event moved far away as the only one out of place', async () => {
    const { lines, manifest } = await closedSession()
    const moved = [lines[0], lines[2], lines[3], lines[4], lines[1], lines[5]] as string[]
    expect(kindsOf(await verify(moved, manifest))).toEqual([
      { kind: 'reordered', seq: 1, index: 4 },
    ])
  })

  it('names an event appended after the manifest, even one that chains correctly', async () => {
    const { lines, manifest } = await closedSession()
    const last = lines.at(-1) ?? ''
    const forged = JSON.stringify({
      v: 1,
      sid: SID,
      seq: EVENTS,
      at: '2026-11-23T09:00:59.000Z',
      type: 'admin.action',
      prev: await hashLine(last),
      data: { action: 'cover-up' },
    })
    const verdict = await verify([...lines, forged], manifest)
    expect(verdict.status).toBe('tampered')
    expect(verdict.problems).toEqual([
      {
        kind: 'appended',
        seq: EVENTS,
        index: EVENTS,
        detail: `event seq ${EVENTS} was added after the session closed: the signed manifest counts ${EVENTS} events`,
      },
    ])
  })

  it('names an event appended after session.end when there is no manifest', async () => {
    const { lines } = await closedSession()
    const last = JSON.parse(lines.at(-1) ?? '{}')
    const appended = [
      ...lines,
      JSON.stringify({ ...last, seq: EVENTS, prev: await hashLine(lines.at(-1) ?? '') }),
    ]
    expect((await verify(appended)).problems).toEqual([
      {
        kind: 'appended',
        seq: EVENTS,
        index: EVENTS,
        detail: `event seq ${EVENTS} comes after session.end (seq ${EVENTS - 1})`,
      },
    ])
  })

  it('names an event forged into the middle under an existing seq as inserted', async () => {
    const { lines, manifest } = await closedSession()
    const forged = edit(lines[3] ?? '', (event) => {
      event.data = { action: 'forged' }
    })
    const verdict = await verify(lines.toSpliced(3, 0, forged), manifest)
    expect(kindsOf(verdict)).toEqual([{ kind: 'inserted', seq: 3, index: 3 }])
    expect(verdict.problems[0]?.detail).toBe(
      'a second event seq 3 that the chain does not vouch for (line 5 is the one it does)'
    )
  })

  it('names a duplicated line as a copy', async () => {
    const { lines, manifest } = await closedSession()
    const verdict = await verify(lines.toSpliced(3, 0, lines[2] ?? ''), manifest)
    expect(verdict.problems).toEqual([
      { kind: 'inserted', seq: 2, index: 3, detail: 'a copy of event seq 2 (line 3)' },
    ])
  })

  it('names an event copied in from another session', async () => {
    const { lines, manifest } = await closedSession()
    const other = await closedSession(OTHER_SID)
    const verdict = await verify(lines.with(3, other.lines[3] ?? ''), manifest)
    expect(verdict.problems).toEqual([
      { kind: 'wrong_session', seq: 3, index: 3, detail: `an event of session ${OTHER_SID}` },
    ])
  })

  it('names a line that is no longer JSON', async () => {
    const { lines, manifest } = await closedSession()
    const verdict = await verify(lines.with(2, (lines[2] ?? '').slice(0, -1)), manifest)
    expect(verdict.problems).toEqual([
      { kind: 'unparseable', seq: 2, index: 2, detail: 'the line is not JSON' },
    ])
  })

  it('catches an edit whose chain was recomputed, through the signed chain head', async () => {
    const { lines, manifest } = await closedSession()
    const rewritten = events(SID, EVENTS)
    rewritten[2] = { ...(rewritten[2] as PendingEvent), data: { action: 'forged' } }
    const { lines: forged } = await chainEvents(SID, null, rewritten)
    const verdict = await verify(forged, manifest)
    expect(verdict.status).toBe('tampered')
    expect(verdict.problems).toEqual([
      {
        kind: 'modified',
        seq: EVENTS - 1,
        index: EVENTS - 1,
        detail:
          'its hash is not the chain head the signed manifest records: this event, or the chain up to it, was rewritten',
      },
    ])
    expect(lines).not.toEqual(forged)
  })
})

describe('the manifest', () => {
  it('refuses a manifest whose signed text was edited', async () => {
    const { lines, manifest } = await closedSession()
    const edited = manifest.replace(`"events":${EVENTS}`, `"events":${EVENTS + 1}`)
    const verdict = await verify(lines, edited)
    expect(verdict.status).toBe('tampered')
    expect(verdict.manifest).toEqual({ kid: key.kid, signature: 'invalid' })
    expect(verdict.problems).toEqual([
      {
        kind: 'bad_signature',
        detail: 'the manifest signature does not verify: the manifest was altered',
      },
    ])
  })

  it('refuses the manifest after any single-bit flip of any of its bytes', async () => {
    const { lines, manifest } = await closedSession()
    for (let at = 0; at < manifest.length; at++) {
      const flipped =
        manifest.slice(0, at) +
        String.fromCharCode(manifest.charCodeAt(at) ^ 1) +
        manifest.slice(at + 1)
      const verdict = await verify(lines, flipped)
      expect(verdict.status, `byte ${at}`).toBe('tampered')
      expect(
        verdict.problems.map((problem) => problem.kind),
        `byte ${at}`
      ).toEqual(['bad_signature'])
    }
  })

  it('refuses a manifest signed with a key the gateway does not publish', async () => {
    const { lines, manifest } = await closedSession(SID, EVENTS, () => otherKey)
    expect((await verify(lines, manifest)).problems).toEqual([
      {
        kind: 'bad_signature',
        detail: 'the manifest is signed with a key that is not among the gateway signing keys',
      },
    ])
  })

  it('refuses a published key that does not hash to the kid it claims', async () => {
    const { lines, manifest } = await closedSession(SID, EVENTS, () => otherKey)
    const impostor = { ...key.publicJwk, kid: otherKey.kid }
    expect((await verify(lines, manifest, [impostor])).manifest?.signature).toBe('unknown_key')
  })

  it('refuses a manifest line that is not a signed manifest', async () => {
    const { lines } = await closedSession()
    expect((await verify(lines, '{"manifest":{}}')).problems).toEqual([
      { kind: 'bad_signature', detail: 'the manifest is not a signed Gatehouse manifest' },
    ])
  })

  it("refuses another session's manifest", async () => {
    const { lines } = await closedSession()
    const other = await closedSession(OTHER_SID)
    const verdict = await verify(lines, other.manifest)
    expect(verdict.status).toBe('tampered')
    expect(verdict.problems).toEqual([
      { kind: 'manifest_mismatch', detail: `the manifest is signed for session ${OTHER_SID}` },
    ])
  })

  it('flags a signed manifest that describes a different caller than session.start', async () => {
    const chained = events(SID, 3)
    const { lines, lastHash } = await chainEvents(SID, null, chained)
    const manifest = await signManifest(key, {
      v: 1,
      type: 'gatehouse.session-manifest',
      session: SID,
      transcriptVersion: 1,
      protocol: 'http',
      connection: 'ledger',
      caller: { id: 'agent:someone-else', name: 'someone-else', via: 'agent_token' },
      events: 3,
      lastHash: lastHash ?? '',
      startedAt: chained[0]?.at ?? '',
      endedAt: chained[2]?.at ?? '',
      signedAt: '2026-11-23T09:01:00.000Z',
    })
    expect((await verify(lines, manifest)).problems).toEqual([
      {
        kind: 'manifest_mismatch',
        detail: "the manifest's caller is agent:someone-else; session.start records agent:unit",
      },
    ])
  })
})

describe('scale', () => {
  it('verifies a 10 000-event session and names the one event changed in it', async () => {
    const count = 10_000
    const { lines, manifest } = await closedSession(SID, count)
    expect((await verify(lines, manifest)).status).toBe('intact')
    const tampered = lines.with(7_777, (lines[7_777] ?? '').replace('step-7777', 'step-7778'))
    expect(kindsOf(await verify(tampered, manifest))).toEqual([
      { kind: 'modified', seq: 7_777, index: 7_777 },
    ])
  })
})
