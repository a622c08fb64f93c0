import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { openDatabase } from '../../src/db/client.ts'
import { utf8 } from '../../src/encoding.ts'
import { isManifestLine, parseSignedManifest } from '../../src/evidence/manifest.ts'
import { checkSignature, importSigningSeed, signingKeyOf } from '../../src/evidence/signing-key.ts'
import { type TranscriptVerdict, verifyTranscript } from '../../src/evidence/verify-transcript.ts'
import worker from '../../src/index.ts'
import type { Caller } from '../../src/pipeline/types.ts'
import { type RecorderStore, SessionRecorder } from '../../src/recorder/session-recorder.ts'
import { chunkKey, manifestKey } from '../../src/recorder/transcript-keys.ts'
import {
  admin,
  adminJson,
  applyPolicy,
  asAgent,
  closedSession,
  errorOf,
  GATEWAY,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
} from './support/gateway.ts'

let token: string

beforeAll(async () => {
  await putHttpConnection('evidence-api', { url: originUrl() })
  await applyPolicy({
    version: 1,
    connections: {
      'evidence-api': { grants: ['agent:evidence-bot'], rules: [{ name: 'all', action: 'allow' }] },
    },
  })
  ;({ token } = await mintToken('evidence-bot', ['evidence-api']))
})

type VerifyAnswer = {
  session: string
  verdict: TranscriptVerdict
  chain: { intact: boolean; events: number }
  matchesIndex: boolean
  status: string
}

/** One proxied request, its session closed: 4 events over 2 chunks, and a manifest. */
async function recordedRequest(path = '/evidence') {
  const response = await gatewayFetch(`/proxy/evidence-api${path}`, asAgent(token))
  expect(response.status).toBe(200)
  await response.arrayBuffer()
  return closedSession(response.headers.get('x-gatehouse-session') ?? '')
}

async function objectText(key: string): Promise<string> {
  const object = await env.SESSIONS.get(key)
  if (!object) throw new Error(`no object ${key}`)
  return object.text()
}

function recorderStore(bucket: R2Bucket = env.SESSIONS): RecorderStore {
  return { bucket, db: openDatabase(env.DB), now: Date.now, config: loadConfig(env) }
}

const caller: Caller = {
  id: 'agent:evidence-unit',
  name: 'evidence-unit',
  via: 'agent_token',
  idpGroups: [],
  scope: ['*'],
}

describe('GET /.well-known/gatehouse/signing-keys', () => {
  it('serves the public signing key as a JWK set, to anyone', async () => {
    const response = await gatewayFetch('/.well-known/gatehouse/signing-keys')
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    const key = await signingKeyOf(loadConfig(env))
    expect(await response.json()).toEqual({
      keys: [
        { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: key.kid, alg: 'EdDSA', use: 'sig' },
      ],
    })
    expect(JSON.stringify(key.publicJwk)).not.toContain('"d"')
  })
})

describe('the closing manifest', () => {
  it('is written beside the chunks, signed over its exact bytes, and describes the session', async () => {
    const row = await recordedRequest()
    const stored = await objectText(manifestKey(row.transcriptPrefix))
    const signed = parseSignedManifest(stored)
    if (!signed) throw new Error(`not a signed manifest: ${stored}`)
    const { keys } = (await (await gatewayFetch('/.well-known/gatehouse/signing-keys')).json()) as {
      keys: []
    }
    expect(await checkSignature(keys, signed.kid, utf8(signed.text), signed.signature)).toBe(
      'valid'
    )
    const manifest = JSON.parse(signed.text)
    expect(manifest).toEqual({
      v: 1,
      type: 'gatehouse.session-manifest',
      session: row.id,
      transcriptVersion: 1,
      protocol: 'http',
      connection: 'evidence-api',
      caller: {
        id: 'agent:evidence-bot',
        name: 'evidence-bot',
        via: 'agent_token',
        tokenId: expect.stringMatching(/^tok_/),
      },
      events: 4,
      lastHash: row.lastHash,
      startedAt: expect.any(String),
      endedAt: expect.any(String),
      signedAt: expect.any(String),
    })
    expect(Date.parse(manifest.startedAt)).toBeLessThanOrEqual(Date.parse(manifest.endedAt))
    const served = await admin('GET', `/sessions/${row.id}/manifest`)
    expect(served.headers.get('content-type')).toBe('application/json')
    expect(await served.text()).toBe(stored)
  })

  it('is only there once the index says closed: a failed manifest write leaves the session open', async () => {
    const failing = new Proxy(env.SESSIONS, {
      get(target, property) {
        if (property === 'put') {
          return (...args: Parameters<R2Bucket['put']>) =>
            String(args[0]).endsWith('manifest.json')
              ? Promise.reject(new Error('R2 is down (injected)'))
              : target.put(...args)
        }
        const value = Reflect.get(target, property)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const recorder = new SessionRecorder(recorderStore(failing), {
      protocol: 'admin',
      connectionName: 'admin',
      caller,
      client: {},
    })
    recorder.append('admin.action', { action: 'test' })
    await expect(recorder.close()).rejects.toThrow(/injected/)
    const row = await adminJson<{ status: string; events: number }>(
      'GET',
      `/sessions/${recorder.id}`
    )
    expect(row.status).toBe('open')
    const verify = await adminJson<VerifyAnswer>('GET', `/sessions/${recorder.id}/verify`)
    expect(verify.verdict).toMatchObject({
      status: 'incomplete',
      events: 3,
      incomplete: 'session.end is recorded but there is no signed manifest',
      problems: [],
    })
  })

  it('is answered 404 for a session that has none yet', async () => {
    const recorder = new SessionRecorder(recorderStore(), {
      protocol: 'admin',
      connectionName: 'admin',
      caller,
      client: {},
    })
    await recorder.flush()
    expect(await errorOf(await admin('GET', `/sessions/${recorder.id}/manifest`))).toEqual({
      status: 404,
      code: 'resource.not_found',
      message: `Session "${recorder.id}" has no manifest: it is still open or was cut short.`,
    })
  })
})

describe('GET /v1/admin/sessions/:id/verify', () => {
  it('reports an untouched session intact, with the signed manifest and the index agreeing', async () => {
    const row = await recordedRequest()
    const answer = await adminJson<VerifyAnswer>('GET', `/sessions/${row.id}/verify`)
    expect(answer).toMatchObject({
      session: row.id,
      verdict: {
        status: 'intact',
        events: 4,
        lastHash: row.lastHash,
        manifest: { signature: 'valid', events: 4, lastHash: row.lastHash },
        problems: [],
      },
      chain: { intact: true, events: 4 },
      matchesIndex: true,
      status: 'closed',
    })
  })

  it('names the event changed in R2 after the fact', async () => {
    const row = await recordedRequest('/to-be-changed')
    const key = chunkKey(row.transcriptPrefix, 0)
    const original = await objectText(key)
    await env.SESSIONS.put(key, original.replace('/to-be-changed', '/innocent-path'))
    const { verdict } = await adminJson<VerifyAnswer>('GET', `/sessions/${row.id}/verify`)
    expect(verdict.status).toBe('tampered')
    expect(verdict.problems).toEqual([
      {
        kind: 'modified',
        seq: 1,
        index: 1,
        detail: 'its hash no longer matches the prev recorded by event seq 2',
      },
    ])
  })

  it('names the events of a chunk deleted from R2, from the signed event count', async () => {
    const row = await recordedRequest()
    await env.SESSIONS.delete(chunkKey(row.transcriptPrefix, 1))
    const answer = await adminJson<VerifyAnswer>('GET', `/sessions/${row.id}/verify`)
    expect(answer.verdict.problems).toEqual([
      {
        kind: 'removed',
        seq: 2,
        detail:
          'events seq 2 to 3 are missing (2 events), after seq 1: the signed manifest counts 4 events',
      },
    ])
    // The chain that is left is unbroken: only the manifest (and the index) can tell.
    expect(answer.chain.intact).toBe(true)
    expect(answer.matchesIndex).toBe(false)
  })

  it('reports a session that was cut short as incomplete, verified up to its last event', async () => {
    const recorder = new SessionRecorder(recorderStore(), {
      protocol: 'admin',
      connectionName: 'admin',
      caller,
      client: {},
    })
    recorder.append('admin.action', { action: 'first' })
    await recorder.flush()
    recorder.append('admin.action', { action: 'lost with the isolate' })
    const { verdict, status } = await adminJson<VerifyAnswer>(
      'GET',
      `/sessions/${recorder.id}/verify`
    )
    expect(status).toBe('open')
    expect(verdict).toMatchObject({
      status: 'incomplete',
      events: 2,
      manifest: null,
      incomplete:
        'there is no session.end and no signed manifest: the session was cut short, or is still open',
      problems: [],
    })
  })
})

describe('GET /v1/admin/sessions/:id/export', () => {
  it('downloads the transcript lines as stored, then the signed manifest line', async () => {
    const row = await recordedRequest()
    const response = await admin('GET', `/sessions/${row.id}/export`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/x-ndjson')
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="gatehouse-session-${row.id}.ndjson"`
    )
    const text = await response.text()
    const lines = text.split('\n')
    expect(lines.at(-1)).toBe('')
    const manifest = lines.at(-2) ?? ''
    expect(manifest).toBe(await objectText(manifestKey(row.transcriptPrefix)))
    expect(isManifestLine(manifest)).toBe(true)
    const transcript = await (await admin('GET', `/sessions/${row.id}/transcript`)).text()
    expect(
      lines
        .slice(0, -2)
        .map((line) => `${line}\n`)
        .join('')
    ).toBe(transcript)
    const key = await signingKeyOf(loadConfig(env))
    const verdict = await verifyTranscript({
      sessionId: row.id,
      lines: lines.slice(0, -2),
      manifest,
      keys: [key.publicJwk],
    })
    expect(verdict.status).toBe('intact')
  })

  it('refuses without the admin token', async () => {
    const row = await recordedRequest()
    const response = await gatewayFetch(`/v1/admin/sessions/${row.id}/export`)
    expect(response.status).toBe(401)
    await response.body?.cancel()
  })

  it('answers 404 for an unknown session', async () => {
    const response = await admin('GET', '/sessions/00000000-0000-7000-8000-000000000000/export')
    expect(await errorOf(response)).toMatchObject({ status: 404, code: 'resource.not_found' })
  })
})

describe('rotating the signing key (RETIRED_SIGNING_KEYS)', () => {
  const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes))
  const oldSeed = new Uint8Array(32).fill(7)
  const newSeed = new Uint8Array(32).fill(8)

  /** The Worker as deployed with other vars: a fresh isolate's view of the same storage. */
  async function fetchAs(vars: Record<string, string>, path: string, init: RequestInit = {}) {
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(`${GATEWAY}${path}`, init),
      { ...env, ...vars },
      ctx
    )
    await waitOnExecutionContext(ctx)
    return response
  }
  const adminAs = (vars: Record<string, string>, path: string) =>
    fetchAs(vars, `/v1/admin${path}`, { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })

  /** A session closed while the old key signed manifests. */
  async function signedByOldKey(): Promise<string> {
    const config = loadConfig({ ...env, SIGNING_KEY: base64(oldSeed) })
    const recorder = new SessionRecorder(
      { bucket: env.SESSIONS, db: openDatabase(env.DB), now: Date.now, config },
      { protocol: 'admin', connectionName: 'admin', caller, client: {} }
    )
    recorder.append('admin.action', { action: 'before the rotation' })
    await recorder.close()
    return recorder.id
  }

  it('keeps sessions signed before a rotation verifiable once the old key is listed', async () => {
    const id = await signedByOldKey()
    const oldKey = await importSigningSeed(oldSeed)
    const newKey = await importSigningSeed(newSeed)
    const rotated = { SIGNING_KEY: base64(newSeed) }

    // Rotated without listing the old key: the manifest's key is unknown, so not intact.
    const unlisted = (await (
      await adminAs(rotated, `/sessions/${id}/verify`)
    ).json()) as VerifyAnswer
    expect(unlisted.verdict.status).toBe('tampered')
    expect(unlisted.verdict.manifest?.signature).toBe('unknown_key')

    const listed = { ...rotated, RETIRED_SIGNING_KEYS: ` ${oldKey.publicJwk.x} ,` }
    const answer = (await (await adminAs(listed, `/sessions/${id}/verify`)).json()) as VerifyAnswer
    expect(answer.verdict).toMatchObject({
      status: 'intact',
      manifest: { signature: 'valid', kid: oldKey.kid },
      problems: [],
    })

    // Published for offline verifiers, current key first; the retired one never signs.
    const jwks = await fetchAs(listed, '/.well-known/gatehouse/signing-keys')
    expect(await jwks.json()).toEqual({ keys: [newKey.publicJwk, oldKey.publicJwk] })
    const fresh = new SessionRecorder(
      {
        bucket: env.SESSIONS,
        db: openDatabase(env.DB),
        now: Date.now,
        config: loadConfig({ ...env, ...listed }),
      },
      { protocol: 'admin', connectionName: 'admin', caller, client: {} }
    )
    fresh.append('admin.action', { action: 'after the rotation' })
    await fresh.close()
    const after = (await (
      await adminAs(listed, `/sessions/${fresh.id}/verify`)
    ).json()) as VerifyAnswer
    expect(after.verdict.manifest?.kid).toBe(newKey.kid)
  })

  it('lists the current key once even if it is also listed as retired', async () => {
    const key = await importSigningSeed(newSeed)
    const vars = { SIGNING_KEY: base64(newSeed), RETIRED_SIGNING_KEYS: key.publicJwk.x }
    const jwks = await fetchAs(vars, '/.well-known/gatehouse/signing-keys')
    expect(await jwks.json()).toEqual({ keys: [key.publicJwk] })
  })

  it('refuses a retired key that is not a base64url Ed25519 public key, naming the variable', () => {
    const valid = 'A'.repeat(43)
    expect(() => loadConfig({ ...env, RETIRED_SIGNING_KEYS: `${valid},not-a-key` })).toThrow(
      /RETIRED_SIGNING_KEYS\.1 must be an Ed25519 public key: the `x` of its JWK/
    )
  })
})
