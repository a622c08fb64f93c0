/**
 * Masked columns as real clients see them through `gatehouse connect maskdb`: psql (text,
 * simple protocol, COPY) and node-postgres (extended protocol, text and binary results).
 * Each statement is also run directly against the origin, so the test knows the raw
 * values and checks that none of them reached the client.
 */
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { maskFunction } from '../../src/masking/strategies.ts'
import { createTextMasker } from '../../src/masking/text-masker.ts'
import { DETECTOR_NAMES, type MaskStrategy } from '../../src/masking/types.ts'
import { LINEAGE_CASES } from '../harness/masking-cases.ts'
import { PG_DATABASE, PG_ROLES } from '../harness/postgres-server.ts'
import { directSql, pgClient, psql, run, startTunnel, type Tunnel } from './support/postgres.ts'
import { MASKED_CONNECTION } from './support/postgres-connections.ts'

let tunnel: Tunnel
const clients: pg.Client[] = []

beforeAll(async () => {
  tunnel = await startTunnel(MASKED_CONNECTION, inject('postgresMaskedToken'))
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
})

afterAll(async () => {
  await tunnel?.stop()
})

async function connect(): Promise<pg.Client> {
  const client = await pgClient(tunnel.port)
  clients.push(client)
  return client
}

/** Every raw value of the sensitive columns, read straight from the origin. */
async function rawSensitiveValues(): Promise<string[]> {
  const out = await directSql(
    "SELECT concat_ws(E'\\n', email, card, ssn, upper(email)) FROM customers"
  )
  return out.split('\n').filter((value) => value.length > 3)
}

const TOKEN = /^tok_[a-z2-7]{16}$/

/**
 * Whether `masked` is what `raw` should become under `strategy`. Partial and redact are
 * exact; token and fake are keyed (the key is the stack's own), so their shape is checked,
 * and that the raw value is gone.
 */
function maskedAs(strategy: MaskStrategy | 'json', raw: string, masked: string): boolean {
  switch (strategy) {
    case 'partial':
      return masked === maskFunction('partial', new Uint8Array(32))(raw)
    case 'redact':
      return masked === '[REDACTED]'
    case 'json':
      return masked === '"[REDACTED]"'
    case 'token':
      return TOKEN.test(masked)
    case 'fake':
      return masked !== raw && masked.replace(/\d/g, '0') === raw.replace(/\d/g, '0')
  }
}

/** The connection's detectors (every one redacts), as clean columns meet them. */
const DETECTORS = createTextMasker(
  new Map(DETECTOR_NAMES.map((name) => [name, 'redact' as const])),
  new Uint8Array(32)
)

/** psql's unaligned output with separators no value contains (json_agg spans lines). */
const FIELD = '\x1f'
const RECORD = '\x1e'
const UNALIGNED = ['-At', '-F', FIELD, '-R', RECORD]

function table(stdout: string): string[][] {
  const text = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout
  return text === '' ? [] : text.split(RECORD).map((line) => line.split(FIELD))
}

/** Rows of a statement run straight on the origin, unmasked. */
async function rawRows(sql: string): Promise<string[][]> {
  const conninfo = `host=127.0.0.1 port=${inject('postgresPort')} dbname=${PG_DATABASE} user=${PG_ROLES.admin.user}`
  const result = await run('psql', [conninfo, ...UNALIGNED, '-c', sql], {
    env: { PGPASSWORD: PG_ROLES.admin.password },
  })
  expect(result.code, result.stderr).toBe(0)
  return table(result.stdout)
}

/** node-postgres without its type parsers: text values as text, binary ones as bytes. */
const RAW_TYPES = { getTypeParser: () => (value: string | Buffer) => value }

describe('every lineage case through real clients', () => {
  it.each(LINEAGE_CASES)('psql: %s', async (sql, masked) => {
    const raw = await rawRows(sql)
    const result = await psql(tunnel.port, [...UNALIGNED, '-c', sql])
    expect(result.code, result.stderr).toBe(0)
    const rows = table(result.stdout)
    expect(rows).toHaveLength(raw.length)
    rows.forEach((row, r) => {
      row.forEach((cell, c) => {
        const original = raw[r]?.[c] ?? ''
        const strategy = masked[c]
        // Columns of no sensitive origin still pass the detectors (a key in the notes, say).
        if (strategy === undefined || original === '') expect(cell).toBe(DETECTORS.mask(original))
        else expect(maskedAs(strategy, original, cell), `${cell} for ${original}`).toBe(true)
      })
    })
    expect(result.stderr).toContain('NOTICE:  Gatehouse masked')
  })

  it.each(LINEAGE_CASES)('node-postgres, text and binary: %s', async (sql, masked) => {
    const raw = await rawRows(sql)
    const client = await connect()
    for (const binary of [false, true]) {
      const config = { text: sql, rowMode: 'array', types: RAW_TYPES, ...{ binary } }
      const result = await client.query(config as pg.QueryArrayConfig)
      expect(result.rows).toHaveLength(raw.length)
      for (const [r, row] of (result.rows as unknown[][]).entries()) {
        for (const [c, cell] of row.entries()) {
          const original = raw[r]?.[c] ?? ''
          const strategy = masked[c]
          if (strategy === undefined || original === '') continue
          // A binary value of a type that cannot hold a mask (a record, an array) is NULL.
          if (binary && cell === null) continue
          const text = String(cell)
          expect(maskedAs(strategy, original, text), `${text} for ${original}`).toBe(true)
        }
      }
      const seen = JSON.stringify(result.rows.map((row) => row.map((cell) => String(cell))))
      for (const value of ['ada@example.com', '4111111111111111', '536-22-8471']) {
        expect(seen).not.toContain(value)
      }
    }
  })
})

describe('psql', () => {
  it('shows masked columns, every lineage form, and a NOTICE naming them', async () => {
    const result = await psql(tunnel.port, [
      '-At',
      '-F',
      '|',
      '-c',
      'SELECT id, email, card, upper(email), ssn FROM customers ORDER BY id',
    ])
    expect(result.code).toBe(0)
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('|'))
    expect(rows).toHaveLength(3)
    for (const [id, email, card, shouted, ssn] of rows) {
      expect(id).toMatch(/^[123]$/)
      expect(email).toMatch(TOKEN)
      expect(card).toMatch(/^\*{11,15}\d{4}$/)
      expect(shouted).toMatch(TOKEN)
      expect(ssn === '' || ssn === '[REDACTED]').toBe(true)
    }
    expect(result.stderr).toContain('NOTICE:  Gatehouse masked columns email, card, upper, ssn.')
    for (const raw of await rawSensitiveValues()) expect(result.stdout).not.toContain(raw)
  })

  it('masks COPY TO STDOUT in CSV', async () => {
    const result = await psql(tunnel.port, [
      '-c',
      'COPY (SELECT id, email FROM customers ORDER BY id) TO STDOUT WITH (FORMAT csv)',
    ])
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines.map((line) => line.split(',')[0])).toEqual(['1', '2', '3'])
    for (const line of lines) expect(line.split(',')[1]).toMatch(/^"tok_[a-z2-7]{16}"$/)
  })

  it('refuses a statement whose lineage it cannot trace, with 42501', async () => {
    const result = await psql(tunnel.port, [
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      'SELECT * FROM unnest(ARRAY(SELECT email FROM customers))',
    ])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('cannot tell which result columns carry them')
  })
})

describe('node-postgres', () => {
  it('masks text results of the extended protocol, by view and by CTE', async () => {
    const client = await connect()
    const viaView = await client.query(
      'SELECT id, shouted, contact FROM customer_contacts ORDER BY id'
    )
    const viaCte = await client.query(
      'WITH c AS (SELECT id, card AS x FROM customers) SELECT x FROM c WHERE id = $1',
      [1]
    )
    expect(viaView.rows.map((row) => row.id)).toEqual([1, 2, 3])
    for (const row of viaView.rows) {
      expect(row.shouted).toMatch(TOKEN)
      expect(row.contact).toMatch(TOKEN)
    }
    expect(viaCte.rows).toEqual([{ x: '************1111' }])
    const raw = await rawSensitiveValues()
    for (const value of raw)
      expect(JSON.stringify([viaView.rows, viaCte.rows])).not.toContain(value)
  })

  it('masks binary results, and nulls a sensitive value whose type cannot hold a mask', async () => {
    const client = await connect()
    // node-postgres asks for binary results with `binary`, which its types do not declare.
    const binary: pg.QueryConfig = {
      text: 'SELECT email, length(email) AS n, id FROM customers WHERE id = $1',
      values: [2],
      ...{ binary: true },
    }
    const result = await client.query(binary)
    expect(result.rows).toHaveLength(1)
    const row = result.rows[0] as { email: Buffer | string; n: unknown; id: unknown }
    expect(String(row.email)).toMatch(TOKEN)
    expect(row.n).toBeNull()
    expect(row.id).toBe(2)
  })

  it('returns the same token for the same value, so masked columns still join', async () => {
    const client = await connect()
    const { rows } = await client.query(
      'SELECT c.email AS a, e.email AS b FROM customers c JOIN customer_emails e USING (id) ORDER BY id'
    )
    for (const row of rows) expect(row.a).toBe(row.b)
    expect(new Set(rows.map((row) => row.a)).size).toBe(3)
  })

  it('hears which columns were masked as a notice', async () => {
    const client = await connect()
    const notices: string[] = []
    client.on('notice', (notice) => notices.push(notice.message ?? ''))
    await client.query('SELECT card FROM customers')
    expect(notices).toContain('Gatehouse masked column card.')
  })
})
