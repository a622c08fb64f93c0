/**
 * Masking of live Postgres results through the tunnel and the JSON API, against the real
 * seeded database: every lineage case is checked cell by cell against the same statement
 * run on an unmasked connection, with the masked value computed by the same strategies.
 */

import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deriveMaskingKey, maskFunction } from '../../src/masking/strategies.ts'
import { createTextMasker } from '../../src/masking/text-masker.ts'
import { DETECTOR_NAMES, type MaskStrategy } from '../../src/masking/types.ts'
import type { BackendMessage } from '../../src/protocols/postgres/codec/backend.ts'
import { LINEAGE_CASES } from '../harness/masking-cases.ts'
import {
  applyPolicy,
  closedSession,
  gatewayFetch,
  mintToken,
  sessionsOf,
} from './support/gateway.ts'
import { PgTunnel } from './support/pg-tunnel.ts'
import { putPostgresConnection } from './support/postgres-connections.ts'

const KEY = deriveMaskingKey(
  Uint8Array.from(atob(env.CREDENTIALS_KEY as string), (char) => char.charCodeAt(0))
)
const mask = (strategy: MaskStrategy, value: string) => maskFunction(strategy, KEY)(value)
/** The connection's detectors: every one redacts. */
const DETECTORS = createTextMasker(
  new Map(DETECTOR_NAMES.map((name) => [name, 'redact' as const])),
  KEY
)

/** Raw values that must never reach an agent or a transcript. */
const RAW_VALUES = [
  'ada@example.com',
  'grace@example.com',
  'alan@example.com',
  '4111111111111111',
  '5500005555555559',
  '536-22-8471',
  '412-58-3920',
  'AKIAIOSFODNN7EXAMPLE',
  'sk-proj-4f9Xk2LmQ8vT1rZ7pW3yB6nDq0',
]

let agent: string
let dba: string
const open: PgTunnel[] = []

async function connect(connection: string, token = agent): Promise<PgTunnel> {
  const tunnel = await PgTunnel.open(connection, token)
  open.push(tunnel)
  return tunnel
}

async function putPostgres(name: string): Promise<void> {
  const response = await putPostgresConnection(name)
  expect([200, 201]).toContain(response.status)
}

beforeAll(async () => {
  await putPostgres('maskdb')
  await putPostgres('rawdb')
  await applyPolicy({
    version: 1,
    groups: { dba: { members: ['agent:dba-bot'] } },
    connections: {
      maskdb: {
        grants: ['agent:mask-bot', 'agent:dba-bot'],
        default: 'allow',
        masking: {
          columns: {
            'public.customers.email': 'token',
            'customers.card': 'partial',
            'payments.card': 'partial',
            'customers.phone': 'fake',
            'customers.ssn': { strategy: 'redact', exempt: ['agent:nobody'] },
          },
          detectors: { all: 'redact' },
          exempt: ['group:dba'],
        },
      },
      rawdb: { grants: ['agent:mask-bot'], default: 'allow' },
    },
  })
  ;({ token: agent } = await mintToken('mask-bot', ['*']))
  ;({ token: dba } = await mintToken('dba-bot', ['*']))
})

afterEach(() => {
  for (const tunnel of open.splice(0)) tunnel.close()
})

/** The rows the unmasked connection returns, masked as the policy says. */
function expectedRows(
  raw: (string | null)[][],
  masked: Record<number, MaskStrategy | 'json'>
): (string | null)[][] {
  return raw.map((row) =>
    row.map((cell, index) => {
      const strategy = masked[index]
      if (cell === null) return cell
      // Columns of no sensitive origin still pass the detectors (a key in the notes, say).
      if (strategy === undefined) return DETECTORS.mask(cell)
      // A whole row or JSON of it mixes every sensitive column: the strongest mask wins.
      if (strategy === 'json') return JSON.stringify('[REDACTED]')
      return mask(strategy, cell)
    })
  )
}

describe('column lineage through the tunnel (simple protocol, text format)', () => {
  it.each(LINEAGE_CASES)('masks %s', async (sql, masked) => {
    const raw = await (await connect('rawdb')).query(sql)
    expect(raw.errors).toEqual([])
    const result = await (await connect('maskdb')).query(sql)
    expect(result.errors).toEqual([])
    expect(result.rows).toEqual(expectedRows(raw.rows, masked))
    expect(result.notices.some((notice) => notice.startsWith('Gatehouse masked'))).toBe(true)
    expect(JSON.stringify(result.rows)).not.toMatch(/ada@example\.com|4111111111111111/)
  })

  it('leaves a statement that reads nothing sensitive untouched, with no notice', async () => {
    const tunnel = await connect('maskdb')
    const result = await tunnel.query(
      'SELECT o.id, name, total FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id'
    )
    expect(result.errors).toEqual([])
    expect(result.rows).toEqual([
      ['1', 'Ada Lovelace', '42.50'],
      ['2', 'Grace Hopper', '19.99'],
      ['3', 'Ada Lovelace', '7.00'],
    ])
    expect(result.notices.filter((notice) => notice.startsWith('Gatehouse masked'))).toEqual([])
  })

  it('masks secrets inside free text with the detectors', async () => {
    const result = await (await connect('maskdb')).query('SELECT notes FROM customers WHERE id = 3')
    expect(result.rows).toEqual([['rotated [REDACTED]; new key [REDACTED]; call [REDACTED]']])
  })

  it('masks values an origin error quotes back', async () => {
    const result = await (await connect('maskdb')).query("SELECT 'ada@example.com'::int")
    expect(result.errors).toHaveLength(1)
    expect(result.errors[0]?.message).toBe('invalid input syntax for type integer: "[REDACTED]"')
  })

  it('shows exempt callers the real values', async () => {
    const result = await (await connect('maskdb', dba)).query(
      'SELECT email FROM customers WHERE id = 1'
    )
    expect(result.rows).toEqual([['ada@example.com']])
  })

  it('masks each statement of a multi-statement query by its own lineage', async () => {
    const result = await (await connect('maskdb')).query(
      'SELECT id FROM customers WHERE id = 1; SELECT card FROM customers WHERE id = 1'
    )
    expect(result.rows).toEqual([['1'], [mask('partial', '4111111111111111')]])
  })

  it('masks rows fetched from a cursor declared over sensitive columns', async () => {
    const tunnel = await connect('maskdb')
    await tunnel.query('BEGIN; DECLARE c CURSOR FOR SELECT email FROM customers ORDER BY id')
    const fetched = await tunnel.query('FETCH 2 FROM c')
    await tunnel.query('COMMIT')
    expect(fetched.rows).toEqual([
      [mask('token', 'ada@example.com')],
      [mask('token', 'grace@example.com')],
    ])
  })
})

describe('refusals before anything reaches the origin', () => {
  it.each([
    ['SELECT * FROM unnest(ARRAY(SELECT email FROM customers))', 'masking.lineage_unknown'],
    ['CREATE TABLE leaked AS SELECT email FROM customers', 'masking.laundering'],
    [
      'INSERT INTO orders (customer_id, total, status) SELECT id, 1, email FROM customers',
      'masking.laundering',
    ],
    ['UPDATE orders SET status = (SELECT email FROM customers LIMIT 1)', 'masking.laundering'],
    ['COPY customers TO STDOUT (FORMAT binary)', 'masking.binary_copy'],
  ])('refuses %s with 42501 and keeps the session usable', async (sql, code) => {
    const tunnel = await connect('maskdb')
    const result = await tunnel.query(sql)
    expect(result.errors).toEqual([
      expect.objectContaining({ code: '42501', detail: `gatehouse: ${code}` }),
    ])
    expect((await tunnel.query('SELECT count(*) FROM orders')).rows).toEqual([['3']])
    const leaked = await (await connect('rawdb')).query(
      "SELECT count(*) FROM pg_class WHERE relname = 'leaked'"
    )
    expect(leaked.rows).toEqual([['0']])
  })

  it('lets a sensitive column be rewritten in place', async () => {
    const result = await (await connect('maskdb')).query(
      'UPDATE customers SET email = lower(email) WHERE id = 0'
    )
    expect(result).toMatchObject({ errors: [], tags: ['UPDATE 0'] })
  })
})

describe('COPY TO STDOUT', () => {
  it('masks text-format rows', async () => {
    const tunnel = await connect('maskdb')
    tunnel.sendMessages({
      type: 'Query',
      sql: 'COPY (SELECT id, email, card FROM customers ORDER BY id) TO STDOUT',
    })
    const messages = await tunnel.until('ReadyForQuery')
    const rows = copyRows(messages)
    expect(rows).toEqual([
      `1\t${mask('token', 'ada@example.com')}\t${mask('partial', '4111111111111111')}\n`,
      `2\t${mask('token', 'grace@example.com')}\t${mask('partial', '5500005555555559')}\n`,
      `3\t${mask('token', 'alan@example.com')}\t${mask('partial', '340000000000009')}\n`,
    ])
  })

  it('masks CSV rows with a header', async () => {
    const tunnel = await connect('maskdb')
    tunnel.sendMessages({
      type: 'Query',
      sql: 'COPY customers (id, ssn, name) TO STDOUT WITH (FORMAT csv, HEADER)',
    })
    const rows = copyRows(await tunnel.until('ReadyForQuery'))
    expect(rows[0]).toBe('id,ssn,name\n')
    expect(rows.slice(1).sort()).toEqual([
      '1,"[REDACTED]",Ada Lovelace\n',
      '2,"[REDACTED]",Grace Hopper\n',
      '3,,Alan Turing\n',
    ])
  })
})

describe('extended protocol', () => {
  it('masks text results when the client describes the portal', async () => {
    const result = await (await connect('maskdb')).extended(
      'SELECT email, id FROM customers WHERE id = $1',
      ['2']
    )
    expect(result.rows).toEqual([[mask('token', 'grace@example.com'), '2']])
  })

  it('masks binary results the client never described, and nulls what cannot hold a mask', async () => {
    const tunnel = await connect('maskdb')
    tunnel.sendMessages(
      {
        type: 'Parse',
        statement: 's1',
        query: 'SELECT email, length(email), id FROM customers WHERE id = 1',
        parameterTypes: [],
      },
      {
        type: 'Bind',
        portal: '',
        statement: 's1',
        parameterFormats: [],
        parameters: [],
        resultFormats: [1],
      },
      { type: 'Execute', portal: '', maxRows: 0 },
      { type: 'Sync' }
    )
    const messages = await tunnel.until('ReadyForQuery')
    expect(messages.map((message) => message.type)).toEqual([
      'ParseComplete',
      'BindComplete',
      'DataRow',
      'NoticeResponse',
      'CommandComplete',
      'ReadyForQuery',
    ])
    const row = messages.find((message) => message.type === 'DataRow')
    if (row?.type !== 'DataRow') throw new Error('no row')
    expect(new TextDecoder().decode(row.values[0] ?? undefined)).toBe(
      mask('token', 'ada@example.com')
    )
    expect(row.values[1]).toBeNull()
    expect(row.values[2]).toEqual(new Uint8Array([0, 0, 0, 1]))
  })
})

describe('the JSON SQL API', () => {
  it('returns masked rows and says which columns were masked', async () => {
    const response = await gatewayFetch('/v1/connections/maskdb/query', {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sql: 'SELECT id, email, notes FROM customers WHERE id = $1',
        params: [3],
      }),
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body.rows).toEqual([
      [
        3,
        mask('token', 'alan@example.com'),
        'rotated [REDACTED]; new key [REDACTED]; call [REDACTED]',
      ],
    ])
    expect(body.masked).toEqual({
      columns: ['email', 'notes'],
      by: expect.arrayContaining([
        { by: 'column:public.customers.email', count: 1 },
        expect.objectContaining({ by: 'detector:email' }),
      ]),
    })
  })

  it('refuses what it cannot trace', async () => {
    const response = await gatewayFetch('/v1/connections/maskdb/query', {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT * FROM unnest(ARRAY(SELECT email FROM customers))' }),
    })
    expect(response.status).toBe(403)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'masking.lineage_unknown'
    )
  })
})

describe('transcripts', () => {
  it('store no raw sensitive value anywhere, and say what was masked', async () => {
    const tunnel = await connect('maskdb')
    await tunnel.query(
      "SELECT id FROM customers WHERE email = 'ada@example.com' OR card = '4111111111111111'"
    )
    await tunnel.query('SELECT email, card FROM customers')
    for (const opened of open.splice(0)) opened.close()
    for (const session of await sessionsOf('agent:mask-bot')) await closedSession(session.id)
    const listed = await env.SESSIONS.list({ limit: 1000 })
    expect(listed.truncated).toBe(false)
    const texts: string[] = []
    for (const object of listed.objects) {
      const text = (await (await env.SESSIONS.get(object.key))?.text()) ?? ''
      for (const value of RAW_VALUES)
        expect(text, `${object.key} holds ${value}`).not.toContain(value)
      texts.push(text)
    }
    const all = texts.join('\n')
    expect(all).toContain('"by":"column:public.customers.email"')
    expect(all).toContain('"by":"detector:email"')
  })
})

function copyRows(messages: BackendMessage[]): string[] {
  const decoder = new TextDecoder()
  return messages.flatMap((message) =>
    message.type === 'CopyData' ? [decoder.decode(message.data)] : []
  )
}
