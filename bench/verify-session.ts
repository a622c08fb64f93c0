/**
 * Time to verify a 10 000-event session: the chain is built in memory with the recorder's
 * own chaining and a manifest signed like the recorder signs it, then `verifyTranscript`
 * (what `gatehouse verify` and the admin API run) checks every line, link and the
 * signature. Node's WebCrypto stands in for workerd's; the best of a few runs is reported.
 */
import { type Manifest, signManifest } from '../src/evidence/manifest.ts'
import { importSigningSeed } from '../src/evidence/signing-key.ts'
import { verifyTranscript } from '../src/evidence/verify-transcript.ts'
import type { PendingEvent } from '../src/recorder/event.ts'
import { chainEvents } from '../src/recorder/hash-chain.ts'

const EVENTS = 10_000
const RUNS = 5
const SESSION_ID = '01900000-0000-7000-8000-0000000be7c4'

/** Builds the session, then verifies it RUNS times; returns the fastest run. */
export async function benchVerifySession(): Promise<{ events: number; millis: number }> {
  const { lines, manifest, keys } = await signedSession()
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now()
    const verdict = await verifyTranscript({ sessionId: SESSION_ID, lines, manifest, keys })
    const millis = performance.now() - started
    if (verdict.status !== 'intact') {
      throw new Error(`the benchmark session did not verify: ${JSON.stringify(verdict.problems)}`)
    }
    best = Math.min(best, millis)
  }
  return { events: lines.length, millis: Math.round(best * 10) / 10 }
}

/** A session shaped like a busy HTTP one: command, outcome, command, outcome, … */
async function signedSession() {
  const key = await importSigningSeed(crypto.getRandomValues(new Uint8Array(32)))
  const start = Date.UTC(2026, 10, 23, 9)
  const at = (seq: number) => new Date(start + seq).toISOString()
  const caller = { id: 'agent:bench', name: 'bench', via: 'agent_token' as const }
  const events: PendingEvent[] = [
    {
      seq: 0,
      at: at(0),
      type: 'session.start',
      data: { protocol: 'http', connection: 'api', caller, client: { ip: '192.0.2.1' } },
    },
  ]
  for (let seq = 1; seq < EVENTS - 1; seq++) {
    events.push(
      seq % 2 === 1
        ? {
            seq,
            at: at(seq),
            type: 'command',
            data: {
              command: {
                kind: 'http',
                method: 'GET',
                path: `/orders/${seq}`,
                query: 'expand=lines',
              },
              decision: { action: 'allow', rule: { index: 3, name: 'reads' }, reason: 'reads' },
            },
          }
        : {
            seq,
            at: at(seq),
            type: 'outcome',
            data: { command: seq - 1, status: 'ok', summary: { status: 200 }, bytesDown: 1834 },
          }
    )
  }
  events.push({ seq: EVENTS - 1, at: at(EVENTS - 1), type: 'session.end', data: {} })
  const { lines, lastHash } = await chainEvents(SESSION_ID, null, events)
  const manifest: Manifest = {
    v: 1,
    type: 'gatehouse.session-manifest',
    session: SESSION_ID,
    transcriptVersion: 1,
    protocol: 'http',
    connection: 'api',
    caller,
    events: EVENTS,
    lastHash: lastHash ?? '',
    startedAt: at(0),
    endedAt: at(EVENTS - 1),
    signedAt: at(EVENTS),
  }
  return { lines, manifest: await signManifest(key, manifest), keys: [key.publicJwk] }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchVerifySession()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
