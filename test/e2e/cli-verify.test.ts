/**
 * `gatehouse verify`: the CLI fetches a session's export and the gateway's public signing
 * keys and verifies the recording itself. Tampering is done on a downloaded export
 * (`--file`), the way evidence handed to someone else could be altered.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { gatehouse } from './support/cli.ts'
import { asAdmin, asAgent, eventually } from './support/gateway.ts'

let dir: string
let session: string
/** The export as downloaded: four event lines and the manifest line. */
let exported: string[]
let kid: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-verify-'))
  const response = await asAgent(inject('agentToken'), 'GET', '/proxy/demo/orders/1001')
  await response.arrayBuffer()
  session = response.headers.get('x-gatehouse-session') ?? ''
  await eventually(async () => {
    const row = (await asAdmin(`/v1/admin/sessions/${session}`).then((r) => r.json())) as {
      status: string
    }
    if (row.status !== 'closed') throw new Error(`session ${session} is not closed yet`)
  })
  exported = (await (await asAdmin(`/v1/admin/sessions/${session}/export`)).text())
    .split('\n')
    .filter(Boolean)
  const keys = (await (
    await fetch(`${inject('gatewayUrl')}/.well-known/gatehouse/signing-keys`)
  ).json()) as {
    keys: { kid: string }[]
  }
  kid = keys.keys[0]?.kid ?? ''
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Writes lines as an export file and runs `gatehouse verify SESSION --file …` on it. */
async function verifyFile(name: string, lines: readonly string[], extra: string[] = []) {
  const path = join(dir, name)
  await writeFile(path, lines.map((line) => `${line}\n`).join(''))
  return gatehouse(['verify', session, '--file', path, ...extra])
}

const events = () => exported.slice(0, -1)
const manifest = () => exported.at(-1) ?? ''

describe('gatehouse verify', () => {
  it('fetches the export and the signing keys, and reports an untouched session intact (exit 0)', async () => {
    expect(exported).toHaveLength(5)
    const lastHash = createHash('sha256')
      .update(events().at(-1) ?? '')
      .digest('hex')
    const result = await gatehouse(['verify', session])
    expect(result).toEqual({
      code: 0,
      stdout: `Session ${session}: intact. 4 events, last hash ${lastHash}; the manifest is signed by key ${kid}.\n`,
      stderr: '',
    })
  })

  it('prints the whole verdict with --json', async () => {
    const result = await gatehouse(['--json', 'verify', session])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'intact',
      session,
      events: 4,
      manifest: { kid, signature: 'valid', events: 4 },
      problems: [],
    })
  })

  it('names a flipped byte as a modified event (exit 1)', async () => {
    const line = events()[1] ?? ''
    const at = line.indexOf('/orders/1001') + '/orders/100'.length
    const flipped =
      line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ 1) + line.slice(at + 1)
    const result = await verifyFile('flipped.ndjson', exported.with(1, flipped))
    expect(result).toEqual({
      code: 1,
      stdout:
        `Session ${session}: TAMPERED, 1 problem in 4 events:\n` +
        '  modified          seq 1 (line 2): its hash no longer matches the prev recorded by event seq 2\n',
      stderr: '',
    })
  })

  it('names a deleted event', async () => {
    const result = await verifyFile('deleted.ndjson', exported.toSpliced(2, 1))
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(
      '  removed           seq 2: event seq 2 is missing, between seq 1 and seq 3\n'
    )
  })

  it('names two events that were swapped', async () => {
    const swapped = exported.with(1, exported[2] ?? '').with(2, exported[1] ?? '')
    const result = await verifyFile('swapped.ndjson', swapped)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(
      '  reordered         seq 2 (line 2): event seq 2 stands between seq 0 and seq 1; it belongs after seq 1\n'
    )
  })

  it('names an event appended after the signed end, even one that chains correctly', async () => {
    const last = events().at(-1) ?? ''
    const forged = JSON.stringify({
      ...JSON.parse(last),
      seq: 4,
      type: 'admin.action',
      prev: createHash('sha256').update(last).digest('hex'),
      data: { action: 'cover-up' },
    })
    const result = await verifyFile('appended.ndjson', [...events(), forged, manifest()])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(
      '  appended          seq 4 (line 5): event seq 4 was added after the session closed: the signed manifest counts 4 events\n'
    )
  })

  it('reports a session cut short (no session.end, no manifest) as incomplete (exit 2)', async () => {
    const lastHash = createHash('sha256')
      .update(events()[2] ?? '')
      .digest('hex')
    const result = await verifyFile('cut-short.ndjson', events().slice(0, 3))
    expect(result).toEqual({
      code: 2,
      stdout:
        `Session ${session}: incomplete: there is no session.end and no signed manifest: the session ` +
        `was cut short, or is still open. 3 events verified, last hash ${lastHash}.\n`,
      stderr: '',
    })
  })

  it('refuses a manifest signed by a key other than the pinned ones (--keys)', async () => {
    const keys = join(dir, 'other-keys.json')
    await writeFile(
      keys,
      JSON.stringify({
        keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), kid: 'someone-else' }],
      })
    )
    const result = await verifyFile('pinned.ndjson', exported, ['--keys', keys])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(
      '  bad_signature     the manifest is signed with a key that is not among the gateway signing keys\n'
    )
  })

  it('says which file it cannot read', async () => {
    const missing = join(dir, 'missing.ndjson')
    const result = await gatehouse(['verify', session, '--file', missing])
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cli.file_unreadable: Cannot read ${missing} (ENOENT).\n`,
    })
  })

  it('exits 1 with resource.not_found for an unknown session', async () => {
    const result = await gatehouse(['verify', '00000000-0000-7000-8000-000000000000'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'error: resource.not_found: No session with id "00000000-0000-7000-8000-000000000000".\n'
    )
  })
})
