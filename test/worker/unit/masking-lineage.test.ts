import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { LineageCatalog } from '../../../src/masking/sql/index.ts'
import {
  BASE,
  CARD,
  CRM_EMAIL,
  CUSTOMER_ITEMS,
  col,
  columns,
  EMAIL,
  lineageOf,
  PHONE,
  relation,
  SPREAD,
  withViews,
} from './masking-lineage.fixture.ts'

let catalog: LineageCatalog
beforeAll(async () => {
  catalog = await withViews()
})

/** The result lineage of a statement against the test catalog. */
async function result(sql: string) {
  return (await lineageOf(sql, catalog)).result
}

const ALL_SENSITIVE = col(CARD, EMAIL, PHONE)

describe('statementLineage: expressions', () => {
  it('taints a sensitive column selected directly', async () => {
    expect(await lineageOf('SELECT email FROM customers', catalog)).toEqual({
      touchesSensitive: true,
      result: columns(col(EMAIL)),
    })
  })

  it('keeps the taint under an alias and leaves clean columns clean', async () => {
    expect(await result('SELECT email AS contact, name, id FROM customers')).toEqual(
      columns(col(EMAIL), col(), col())
    )
  })

  it.each([
    'upper(email)',
    "email || ''",
    "'<' || email || '>'",
    'substr(email, 1, 3)',
    'concat(name, email)',
    'email::varchar',
    "encode(convert_to(email, 'UTF8'), 'base64')",
    'substring(email from 1 for 3)',
    "split_part(email, '@', 2)",
    "regexp_replace(email, '@.*', '')",
    'md5(email)',
    'CASE WHEN id > 0 THEN email END',
    "CASE WHEN email LIKE 'a%' THEN 1 ELSE 0 END",
    'COALESCE(notes, email)',
    'NULLIF(email, name)',
    'GREATEST(email, name)',
    'ARRAY[email]',
    'ROW(id, email)',
    "json_build_object('e', email)",
    'email COLLATE "C"',
    'array_agg(email)',
    "string_agg(email, ',')",
    'json_agg(email)',
    'max(email)',
    'first_value(email) OVER (ORDER BY id)',
    '(SELECT email FROM customers LIMIT 1)',
    'ARRAY(SELECT email FROM customers)',
  ])('keeps the taint of email through %s', async (expression) => {
    expect(await result(`SELECT ${expression} FROM customers`)).toEqual(columns(col(EMAIL)))
  })

  it('keeps the taint through CAST', async () => {
    expect(await result('SELECT CAST(card AS text) FROM customers')).toEqual(columns(col(CARD)))
  })

  it('unions the reasons of every column one expression uses, sorted', async () => {
    expect(await result('SELECT concat(phone, email, card, name) FROM customers')).toEqual(
      columns(ALL_SENSITIVE)
    )
  })

  it('leaves an aggregate over clean columns clean', async () => {
    expect(await result('SELECT count(*), max(name) FROM customers')).toEqual(columns(col(), col()))
  })

  it('stays tainted however deeply email is wrapped (property)', async () => {
    const wrappers = [
      (x: string) => `upper(${x})`,
      (x: string) => `${x} || 'a'`,
      (x: string) => `substr(${x}, 2)`,
      (x: string) => `coalesce(${x}, '')`,
      (x: string) => `CAST(${x} AS text)`,
      (x: string) => `(${x})::varchar`,
      (x: string) => `concat('a', ${x})`,
      (x: string) => `(SELECT ${x})`,
      (x: string) => `CASE WHEN true THEN ${x} END`,
      (x: string) => `array_agg(${x})`,
      (x: string) => `ARRAY[${x}]`,
      (x: string) => `ROW(${x})`,
      (x: string) => `json_build_array(${x})`,
      (x: string) => `encode(convert_to(${x}, 'UTF8'), 'hex')`,
      (x: string) => `${x} COLLATE "C"`,
      (x: string) => `(SELECT v FROM (SELECT ${x} AS v) s)`,
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: wrappers.length - 1 }), { minLength: 1, maxLength: 6 }),
        async (chain) => {
          const expression = chain.reduce((x, i) => wrappers[i]?.(x) ?? x, 'email')
          expect(await result(`SELECT ${expression} FROM customers`)).toEqual(columns(col(EMAIL)))
        }
      ),
      { numRuns: 150 }
    )
  })
})

describe('statementLineage: whole rows and *', () => {
  it.each([
    'SELECT u FROM customers u',
    'SELECT customers FROM customers',
    'SELECT row_to_json(u) FROM customers u',
    'SELECT to_jsonb(c) FROM customers c',
    'SELECT json_agg(u) FROM customers u',
    'SELECT row_to_json(u.*) FROM customers u',
    'SELECT ROW(u.*) FROM customers u',
    'SELECT u::text FROM customers u',
    'SELECT (u).id FROM customers u',
  ])('taints a whole-row reference with every sensitive column: %s', async (sql) => {
    expect(await result(sql)).toEqual(columns(ALL_SENSITIVE))
  })

  it('expands * over a catalog relation column by column', async () => {
    expect(await result('SELECT * FROM customers')).toEqual(columns(...CUSTOMER_ITEMS))
    expect(await result('TABLE customers')).toEqual(columns(...CUSTOMER_ITEMS))
  })

  it('expands t.* beside a column of a relation the catalog does not know', async () => {
    expect(
      await result('SELECT c.*, o.total FROM customers c JOIN orders o ON o.customer_id = c.id')
    ).toEqual(columns(...CUSTOMER_ITEMS, col()))
  })

  it('gives a spread for the columns of an unknown relation under *', async () => {
    expect(await result('SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id')).toEqual(
      columns(...CUSTOMER_ITEMS, SPREAD)
    )
    expect(await lineageOf('SELECT * FROM orders', catalog)).toEqual({
      touchesSensitive: false,
      result: columns(SPREAD),
    })
  })

  it('places the merged column of a USING join first', async () => {
    expect(await result('SELECT * FROM customers JOIN orders USING (id)')).toEqual(
      columns(col(), col(EMAIL), col(), col(CARD), col(PHONE), col(), SPREAD)
    )
  })

  it('cannot place the columns of a NATURAL join with an unknown side', async () => {
    expect(await result('SELECT * FROM customers NATURAL JOIN orders')).toEqual({
      kind: 'unknown',
      reason: 'the columns of a NATURAL join or ambiguous relation cannot be placed',
    })
    expect(await result('SELECT email FROM customers NATURAL JOIN orders')).toEqual(
      columns(col(EMAIL))
    )
  })
})

describe('statementLineage: names', () => {
  it.each([
    'SELECT email FROM "customers"',
    'SELECT EMAIL FROM PUBLIC.Customers',
    'SELECT "email" FROM customers',
    'SELECT public.customers.email FROM customers',
    'SELECT customers.email FROM public.customers',
    'SELECT c.email FROM customers AS c',
    'SELECT x.b FROM customers AS x(a, b)',
    'SELECT email FROM orders, customers',
  ])('resolves email in %s', async (sql) => {
    expect(await result(sql)).toEqual(columns(col(EMAIL)))
  })

  it('tells a quoted mixed-case column from the lower-case one', async () => {
    expect(await result('SELECT "Email", Email FROM crm.contacts')).toEqual(
      columns(col(), col(CRM_EMAIL))
    )
  })

  it('fails closed on a column the relation does not have, such as "Email"', async () => {
    expect(await lineageOf('SELECT "Email" FROM customers', catalog)).toEqual({
      touchesSensitive: true,
      result: { kind: 'unknown', reason: 'column "Email" is not in scope' },
    })
  })

  it('does not take other.customers or "Customers" for public.customers', async () => {
    for (const sql of ['SELECT email FROM other.customers', 'SELECT email FROM "Customers"'])
      expect(await lineageOf(sql, catalog)).toEqual({
        touchesSensitive: false,
        result: columns(col()),
      })
  })

  it('unions the candidates of an unqualified name found in several schemas', async () => {
    const twoSchemas = {
      relations: [
        relation('hr', 'people', ['id', 'ssn'], ['ssn']),
        relation('sales', 'people', ['id', 'ssn'], []),
      ],
    }
    expect((await lineageOf('SELECT * FROM people', twoSchemas)).result).toEqual(
      columns(col(), col('column:hr.people.ssn'))
    )
    expect(await lineageOf('SELECT ssn FROM sales.people', twoSchemas)).toEqual({
      touchesSensitive: false,
      result: columns(col()),
    })
  })

  it('lets a WITH entry shadow the table of the same name', async () => {
    expect(
      await lineageOf("WITH customers AS (SELECT 'x' AS email) SELECT email FROM customers", BASE)
    ).toEqual({ touchesSensitive: false, result: columns(col()) })
    expect(
      await result('WITH customers AS (SELECT email FROM customers) SELECT email FROM customers')
    ).toEqual(columns(col(EMAIL)))
  })
})

describe('statementLineage: subqueries, WITH, set operations, views', () => {
  it.each([
    ['WITH x AS (SELECT email AS e FROM customers) SELECT e FROM x', columns(col(EMAIL))],
    [
      'WITH x(a, b) AS (SELECT id, email FROM customers) SELECT b, a FROM x',
      columns(col(EMAIL), col()),
    ],
    ['SELECT s.a FROM (SELECT email AS a FROM customers) s', columns(col(EMAIL))],
    ['SELECT s.x FROM (SELECT upper(email) FROM customers) AS s(x)', columns(col(EMAIL))],
    ['SELECT * FROM (SELECT id, card FROM customers) s', columns(col(), col(CARD))],
    ['SELECT s.upper FROM (SELECT upper(email) FROM customers) s', columns(col(EMAIL))],
    ['SELECT email FROM customer_emails', columns(col(EMAIL))],
    ['SELECT * FROM customer_emails', columns(col(), col(EMAIL))],
    [
      'SELECT o.id, (SELECT c.email FROM customers c WHERE c.id = o.customer_id) FROM orders o',
      columns(col(), col(EMAIL)),
    ],
    [
      'SELECT (SELECT email FROM orders o WHERE o.customer_id = c.id LIMIT 1) FROM customers c',
      columns(col(EMAIL)),
    ],
    ['SELECT l.e FROM customers c, LATERAL (SELECT c.email AS e) l', columns(col(EMAIL))],
    ['SELECT u FROM customers c, unnest(ARRAY[c.email, c.phone]) AS u', columns(col(EMAIL, PHONE))],
    [
      'SELECT r.* FROM customers c, json_to_record(row_to_json(c)) AS r(x text, y text)',
      columns(ALL_SENSITIVE, ALL_SENSITIVE),
    ],
    ['SELECT g FROM generate_series(1, 3) g', columns(col())],
    ['SELECT * FROM generate_series(1, 3)', columns(SPREAD)],
    [
      'SELECT id, name FROM customers UNION SELECT id, email FROM customers',
      columns(col(), col(EMAIL)),
    ],
    ['SELECT name FROM customers INTERSECT SELECT card FROM customers', columns(col(CARD))],
    ['SELECT * FROM orders UNION ALL SELECT id, email FROM customers', columns(col(), col(EMAIL))],
    ["VALUES (1, 'a'), (2, 'b')", columns(col(), col())],
    ['SELECT v.x FROM (VALUES ((SELECT phone FROM customers LIMIT 1))) v(x)', columns(col(PHONE))],
    [
      "WITH RECURSIVE r(n, e) AS (SELECT 1, ''::text UNION ALL SELECT n + 1, (SELECT email FROM customers LIMIT 1) FROM r WHERE n < 3) SELECT * FROM r",
      columns(col(), col(EMAIL)),
    ],
    [
      "WITH RECURSIVE r(a, b) AS (SELECT email, '' FROM customers UNION ALL SELECT b, a FROM r) SELECT b FROM r",
      columns(col(EMAIL)),
    ],
  ])('traces %s', async (sql, expected) => {
    expect(await result(sql)).toEqual(expected)
  })

  it('fails closed on an unknown number of columns derived from sensitive data', async () => {
    expect(await result('SELECT * FROM customers c, unnest(ARRAY[c.email]) u')).toEqual({
      kind: 'unknown',
      reason: 'an unknown number of columns is derived from sensitive data',
    })
  })

  it('reports a statement touching sensitive data only in WHERE, with clean columns', async () => {
    expect(
      await lineageOf(
        'SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers)',
        catalog
      )
    ).toEqual({ touchesSensitive: true, result: columns(col()) })
  })

  it('gives clean columns of unknown number for what it cannot trace outside sensitive data', async () => {
    expect(await lineageOf('SELECT nosuch FROM (SELECT 1 AS a) s', catalog)).toEqual({
      touchesSensitive: false,
      result: columns(SPREAD),
    })
  })
})
