import { describe, expect, it } from 'vitest'
import {
  BASE,
  CARD,
  CUSTOMER_ITEMS,
  col,
  columns,
  EMAIL,
  lineageOf,
  PHONE,
  SPREAD,
} from './masking-lineage.fixture.ts'

const TEXT_COPY = {
  format: 'text',
  delimiter: '\t',
  quote: '"',
  escape: '"',
  nullString: '\\N',
  header: false,
}

describe('statementLineage: INSERT, UPDATE, DELETE with RETURNING', () => {
  it.each([
    [
      "INSERT INTO customers (id, email) VALUES (1, 'a@b.c') RETURNING id, email",
      columns(col(), col(EMAIL)),
    ],
    ["UPDATE customers SET name = 'x' WHERE id = 1 RETURNING *", columns(...CUSTOMER_ITEMS)],
    ['DELETE FROM customers WHERE id = 1 RETURNING email, card', columns(col(EMAIL), col(CARD))],
    [
      "UPDATE orders o SET note = 'x' FROM customers c WHERE c.id = o.customer_id RETURNING c.phone",
      columns(col(PHONE)),
    ],
    [
      'WITH d AS (DELETE FROM customers WHERE id = 1 RETURNING email) SELECT upper(email) FROM d',
      columns(col(EMAIL)),
    ],
    [
      "INSERT INTO customers AS k (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET name = 'n' RETURNING k.card",
      columns(col(CARD)),
    ],
  ])('traces what %s returns', async (sql, expected) => {
    expect(await lineageOf(sql, BASE)).toEqual({ touchesSensitive: true, result: expected })
  })

  it('returns no result for a write without RETURNING', async () => {
    expect(await lineageOf("UPDATE customers SET name = 'x'", BASE)).toEqual({
      touchesSensitive: true,
      result: null,
    })
  })
})

describe('statementLineage: laundering', () => {
  it.each([
    [
      'INSERT INTO orders (note) SELECT email FROM customers',
      'writes column:public.customers.email into orders.note, which is not masked',
    ],
    [
      'INSERT INTO orders SELECT email FROM customers',
      'writes column:public.customers.email into columns of orders, which is not masked',
    ],
    [
      'INSERT INTO orders (note) VALUES ((SELECT card FROM customers LIMIT 1))',
      'writes column:public.customers.card into orders.note, which is not masked',
    ],
    [
      'INSERT INTO audit SELECT id, phone FROM customers',
      'writes column:public.customers.phone into audit.body, which is not masked',
    ],
    [
      'UPDATE customers SET notes = email',
      'writes column:public.customers.email into customers.notes, which is not masked',
    ],
    [
      'UPDATE orders SET note = c.email FROM customers c WHERE c.id = orders.customer_id',
      'writes column:public.customers.email into orders.note, which is not masked',
    ],
    [
      'UPDATE customers SET (phone, notes) = (SELECT name, card FROM customers c WHERE c.id = 1)',
      'writes column:public.customers.card into customers.notes, which is not masked',
    ],
    [
      "INSERT INTO customers (id, email) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET notes = excluded.email",
      'writes column:public.customers.email into customers.notes, which is not masked',
    ],
    [
      'MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN MATCHED THEN UPDATE SET note = c.email',
      'writes column:public.customers.email into orders.note, which is not masked',
    ],
    [
      'MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN NOT MATCHED THEN INSERT (note) VALUES (c.card)',
      'writes column:public.customers.card into orders.note, which is not masked',
    ],
    [
      'WITH x AS (INSERT INTO orders (note) SELECT email FROM customers RETURNING id) SELECT count(*) FROM x',
      'writes column:public.customers.email into orders.note, which is not masked',
    ],
    [
      'CREATE TABLE leak AS SELECT id, lower(email) FROM customers',
      'CREATE TABLE AS copies column:public.customers.email into leak',
    ],
    [
      'CREATE MATERIALIZED VIEW leak AS SELECT card FROM customers WITH NO DATA',
      'CREATE MATERIALIZED VIEW copies column:public.customers.card into leak',
    ],
    [
      'CREATE VIEW public.leak AS SELECT upper(email) FROM customers',
      'CREATE VIEW copies column:public.customers.email into public.leak',
    ],
    [
      'EXPLAIN ANALYZE INSERT INTO orders (note) SELECT email FROM customers',
      'writes column:public.customers.email into orders.note, which is not masked',
    ],
    [
      'INSERT INTO orders (note) SELECT "Email" FROM customers',
      'cannot trace what the statement writes: column "Email" is not in scope',
    ],
  ])('reports %s as laundering', async (sql, why) => {
    expect((await lineageOf(sql, BASE)).laundering).toBe(why)
  })

  it('reports SELECT INTO as laundering, with no rows returned', async () => {
    expect(await lineageOf('SELECT email INTO leak FROM customers', BASE)).toEqual({
      touchesSensitive: true,
      result: null,
      laundering: 'SELECT INTO copies column:public.customers.email into a new table',
    })
  })

  it.each([
    'UPDATE customers SET email = lower(email)',
    'UPDATE customers SET (email, phone) = (SELECT upper(email), card FROM customers c WHERE c.id = 1)',
    'INSERT INTO customers SELECT * FROM customers',
    'INSERT INTO customers (id, card) SELECT id, card FROM customers',
    'INSERT INTO orders (note) SELECT name FROM customers',
    'CREATE VIEW v AS SELECT id, name FROM customers',
    'EXPLAIN INSERT INTO orders (note) SELECT email FROM customers',
    'DELETE FROM customers WHERE email = $1',
  ])('allows %s, which leaves sensitive data in sensitive columns', async (sql) => {
    expect((await lineageOf(sql, BASE)).laundering).toBeUndefined()
  })
})

describe('statementLineage: COPY', () => {
  it('traces COPY of a table to STDOUT with the text defaults', async () => {
    expect(await lineageOf('COPY customers TO STDOUT', BASE)).toEqual({
      touchesSensitive: true,
      result: columns(...CUSTOMER_ITEMS),
      copyOut: TEXT_COPY,
    })
  })

  it('traces a column list and reads every option', async () => {
    expect(
      await lineageOf(
        "COPY customers (email, name) TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'n', QUOTE '''', ESCAPE '\\')",
        BASE
      )
    ).toEqual({
      touchesSensitive: true,
      result: columns(col(EMAIL), col()),
      copyOut: {
        format: 'csv',
        delimiter: ';',
        quote: "'",
        escape: '\\',
        nullString: 'n',
        header: true,
      },
    })
  })

  it.each([
    [
      'COPY customers TO STDOUT WITH CSV HEADER',
      { format: 'csv', delimiter: ',', quote: '"', escape: '"', nullString: '', header: true },
    ],
    ['COPY customers TO STDOUT WITH BINARY', { ...TEXT_COPY, format: 'binary' }],
    ["COPY customers TO STDOUT WITH DELIMITER '|'", { ...TEXT_COPY, delimiter: '|' }],
  ])('reads the old option syntax of %s', async (sql, copyOut) => {
    expect((await lineageOf(sql, BASE)).copyOut).toEqual(copyOut)
  })

  it('traces COPY of a query and of an unknown table', async () => {
    expect(
      (await lineageOf('COPY (SELECT id, upper(email) FROM customers) TO STDOUT', BASE)).result
    ).toEqual(columns(col(), col(EMAIL)))
    expect(await lineageOf('COPY orders TO STDOUT', BASE)).toEqual({
      touchesSensitive: false,
      result: columns(SPREAD),
      copyOut: TEXT_COPY,
    })
  })

  it('returns no rows for COPY FROM STDIN or to a server file', async () => {
    for (const sql of ['COPY customers FROM STDIN', "COPY customers TO '/tmp/out'"])
      expect(await lineageOf(sql, BASE)).toEqual({ touchesSensitive: true, result: null })
  })
})

describe('statementLineage: cursors, prepared statements and utilities', () => {
  it('remembers what a cursor yields under its name', async () => {
    expect(await lineageOf('DECLARE c CURSOR FOR SELECT id, email FROM customers', BASE)).toEqual({
      touchesSensitive: true,
      result: null,
      declares: { kind: 'cursor', name: 'c', result: columns(col(), col(EMAIL)) },
    })
    expect(
      (await lineageOf('DECLARE b BINARY CURSOR WITH HOLD FOR SELECT card FROM customers', BASE))
        .declares
    ).toEqual({ kind: 'cursor', name: 'b', result: columns(col(CARD)), binary: true })
  })

  it('sends FETCH to the cursor and gives MOVE no result', async () => {
    expect(await lineageOf('FETCH 10 FROM c', BASE)).toEqual({
      touchesSensitive: false,
      result: { kind: 'cursor', name: 'c' },
    })
    expect(await lineageOf('MOVE NEXT IN c', BASE)).toEqual({
      touchesSensitive: false,
      result: null,
    })
  })

  it('remembers a prepared statement and sends EXECUTE to it', async () => {
    expect(
      await lineageOf('PREPARE p(int) AS SELECT email FROM customers WHERE id = $1', BASE)
    ).toEqual({
      touchesSensitive: true,
      result: null,
      declares: { kind: 'prepared', name: 'p', result: columns(col(EMAIL)) },
    })
    expect(await lineageOf('EXECUTE p(1)', BASE)).toEqual({
      touchesSensitive: false,
      result: { kind: 'prepared', name: 'p' },
    })
  })

  it('reports laundering when a statement is prepared, not only when executed', async () => {
    expect(
      (await lineageOf('PREPARE w AS INSERT INTO orders (note) SELECT email FROM customers', BASE))
        .laundering
    ).toBe('writes column:public.customers.email into orders.note, which is not masked')
  })

  it('treats plan text and settings as clean', async () => {
    expect(await lineageOf('EXPLAIN SELECT email FROM customers', BASE)).toEqual({
      touchesSensitive: true,
      result: columns(col()),
    })
    expect((await lineageOf('EXPLAIN ANALYZE SELECT email FROM customers', BASE)).result).toEqual(
      columns(col())
    )
    expect((await lineageOf('SHOW search_path', BASE)).result).toEqual(columns(col()))
    expect((await lineageOf('SHOW ALL', BASE)).result).toEqual(columns(col(), col(), col()))
    expect(await lineageOf('SET search_path = app', BASE)).toEqual({
      touchesSensitive: false,
      result: null,
    })
  })

  it('fails closed on CALL with sensitive arguments', async () => {
    expect((await lineageOf('CALL p((SELECT email FROM customers LIMIT 1))', BASE)).result).toEqual(
      {
        kind: 'unknown',
        reason: 'an unknown number of columns is derived from sensitive data',
      }
    )
  })

  it('treats CREATE TABLE AS EXECUTE as laundering it cannot rule out', async () => {
    expect((await lineageOf('CREATE TABLE t AS EXECUTE p', BASE)).laundering).toBe(
      'CREATE TABLE AS EXECUTE into t cannot be traced'
    )
  })
})
