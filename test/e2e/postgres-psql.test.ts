/**
 * psql, unchanged, through `gatehouse connect appdb`: the gateway is the server psql talks
 * to (TLS declined, no password asked), logs in to the cluster itself, and decides every
 * statement against appdb's policy (test/e2e/fixtures/postgres-policy.yaml).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { directSql, psql, SESSION_NOTICE, startTunnel, type Tunnel } from './support/postgres.ts'
import { APP_CONNECTION } from './support/postgres-connections.ts'

const SECRETS_BLOCKED = 'The secrets table is off limits to agents.'
const SCHEMA_BLOCKED = 'Agents may not change the schema or privileges.'

let tunnel: Tunnel
let scratch: string

beforeAll(async () => {
  tunnel = await startTunnel(APP_CONNECTION, inject('postgresAgentToken'))
  scratch = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-psql-'))
})

afterAll(async () => {
  await tunnel?.stop()
  await rm(scratch, { recursive: true, force: true })
})

/** Writes an SQL script for `psql -f`. */
async function script(name: string, lines: string[]): Promise<string> {
  const path = join(scratch, name)
  await writeFile(path, `${lines.join('\n')}\n`)
  return path
}

describe('psql through gatehouse connect', () => {
  it('a SELECT returns the seeded customers', async () => {
    const result = await psql(tunnel.port, [
      '-At',
      '-c',
      'SELECT id, email, name FROM customers ORDER BY id',
    ])
    expect(result).toMatchObject({
      code: 0,
      stdout: [
        '1|ada@example.com|Ada Lovelace',
        '2|grace@example.com|Grace Hopper',
        '3|alan@example.com|Alan Turing',
        '',
      ].join('\n'),
    })
    expect(result.stderr).toMatch(new RegExp(`${SESSION_NOTICE.source}$`))
  })

  it('\\dt lists the seeded tables (its catalog query is a read of pg_catalog)', async () => {
    const result = await psql(tunnel.port, ['-At', '-c', '\\dt'])
    expect(result).toMatchObject({
      code: 0,
      stdout: [
        'public|customers|table|gatehouse_svc',
        'public|numbers|table|gatehouse_svc',
        'public|orders|table|gatehouse_svc',
        'public|payments|partitioned table|gatehouse_svc',
        'public|payments_eu|table|gatehouse_svc',
        'public|secrets|table|gatehouse_svc',
        '',
      ].join('\n'),
    })
  })

  it('\\d customers describes its columns, index and the foreign key pointing at it', async () => {
    const result = await psql(tunnel.port, ['-A', '-c', '\\d customers'])
    expect(result).toMatchObject({
      code: 0,
      stdout: [
        'Table "public.customers"',
        'Column|Type|Collation|Nullable|Default',
        "id|integer||not null|nextval('customers_id_seq'::regclass)",
        'email|text||not null|',
        'name|text||not null|',
        'card|text|||',
        'phone|text|||',
        'notes|text|||',
        'ssn|text|||',
        'profile|jsonb|||',
        'Indexes:',
        '    "customers_pkey" PRIMARY KEY, btree (id)',
        'Referenced by:',
        '    TABLE "orders" CONSTRAINT "orders_customer_id_fkey" FOREIGN KEY (customer_id) REFERENCES customers(id)',
        '',
      ].join('\n'),
    })
  })

  it('a statement on a blocked table prints ERROR with the rule reason and exits 1 under ON_ERROR_STOP', async () => {
    const result = await psql(tunnel.port, [
      '-v',
      'ON_ERROR_STOP=1',
      '-At',
      '-c',
      'SELECT value FROM secrets',
    ])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(
      new RegExp(
        `${SESSION_NOTICE.source}ERROR: {2}${escapeRegExp(SECRETS_BLOCKED)}\\nDETAIL: {2}gatehouse: policy\\.blocked\\n$`
      )
    )
  })

  it('DROP TABLE is refused with the schema rule reason and the table stays', async () => {
    const result = await psql(tunnel.port, ['-v', 'ON_ERROR_STOP=1', '-c', 'DROP TABLE orders'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `ERROR:  ${SCHEMA_BLOCKED}\nDETAIL:  gatehouse: policy.blocked\n`
    )
    expect(await directSql("SELECT to_regclass('public.orders') IS NOT NULL")).toBe('t')
  })

  it('after a blocked statement the same session runs the next ones (-f without ON_ERROR_STOP)', async () => {
    const file = await script('continue.sql', [
      'SELECT count(*) FROM customers;',
      'SELECT value FROM secrets;',
      'DROP TABLE orders;',
      "SELECT 'still here';",
    ])
    const result = await psql(tunnel.port, ['-At', '-f', file])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('3\nstill here\n')
    expect(result.stderr).toMatch(
      new RegExp(
        [
          SESSION_NOTICE.source,
          `psql:${escapeRegExp(file)}:2: ERROR: {2}${escapeRegExp(SECRETS_BLOCKED)}\\n`,
          'DETAIL: {2}gatehouse: policy\\.blocked\\n',
          `psql:${escapeRegExp(file)}:3: ERROR: {2}${escapeRegExp(SCHEMA_BLOCKED)}\\n`,
          'DETAIL: {2}gatehouse: policy\\.blocked\\n$',
        ].join('')
      )
    )
  })

  it('\\copy (SELECT …) TO STDOUT streams the rows out', async () => {
    const result = await psql(tunnel.port, [
      '-c',
      '\\copy (SELECT id, email FROM customers ORDER BY id) TO STDOUT',
    ])
    expect(result).toMatchObject({
      code: 0,
      stdout: '1\tada@example.com\n2\tgrace@example.com\n3\talan@example.com\n',
    })
  })

  it('\\copy orders FROM STDIN loads the rows, and they are in the table', async () => {
    const marker = `copied-${Date.now()}`
    const result = await psql(
      tunnel.port,
      ['-v', 'ON_ERROR_STOP=1', '-c', '\\copy orders (customer_id, total, status) FROM STDIN'],
      { input: `1\t11.10\t${marker}\n3\t33.30\t${marker}\n` }
    )
    expect(result).toMatchObject({ code: 0, stdout: 'COPY 2\n' })
    expect(
      await directSql(
        `SELECT string_agg(customer_id || ':' || total, ',' ORDER BY customer_id) FROM orders WHERE status = '${marker}'`
      )
    ).toBe('1:11.10,3:33.30')
  })

  it('\\copy into a blocked table is refused and sends nothing', async () => {
    const result = await psql(
      tunnel.port,
      ['-v', 'ON_ERROR_STOP=1', '-c', '\\copy secrets FROM STDIN'],
      { input: '2\tstolen\n' }
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`ERROR:  ${SECRETS_BLOCKED}\n`)
    expect(await directSql('SELECT count(*) FROM secrets')).toBe('1')
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
