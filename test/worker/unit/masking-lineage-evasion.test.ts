import { describe, expect, it } from 'vitest'
import { BASE, CARD, col, columns, EMAIL, lineageOf, PHONE } from './masking-lineage.fixture.ts'

const ALL_SENSITIVE = col(CARD, EMAIL, PHONE)

async function result(sql: string) {
  return (await lineageOf(sql, BASE)).result
}

describe('statementLineage: ways around masking', () => {
  it('taints every field a lateral function pulls out of a whole row', async () => {
    expect(
      await result('SELECT t.value FROM customers c, LATERAL jsonb_each_text(to_jsonb(c)) t')
    ).toEqual(columns(ALL_SENSITIVE))
    expect(
      await result('SELECT value FROM customers c CROSS JOIN LATERAL jsonb_each_text(to_jsonb(c))')
    ).toEqual(columns(ALL_SENSITIVE))
  })

  it('fails closed when a composite is expanded into columns it cannot count', async () => {
    for (const sql of [
      'SELECT (jsonb_each(to_jsonb(c))).* FROM customers c',
      'SELECT t.* FROM customers c, LATERAL jsonb_each_text(to_jsonb(c)) t',
    ])
      expect(await result(sql)).toEqual({
        kind: 'unknown',
        reason: 'an unknown number of columns is derived from sensitive data',
      })
  })

  it('follows a whole row through a sub-select and out again', async () => {
    for (const sql of [
      'SELECT * FROM (SELECT c FROM customers c) s',
      'SELECT (s.c).email FROM (SELECT c FROM customers c) s',
      'SELECT ARRAY(SELECT c FROM customers c)',
      "SELECT jsonb_path_query(to_jsonb(c), '$.email') FROM customers c",
    ])
      expect(await result(sql)).toEqual(columns(ALL_SENSITIVE))
  })

  it('follows data through XMLTABLE and set-returning functions in the target list', async () => {
    expect(
      await result(
        "SELECT x.* FROM XMLTABLE('/a' PASSING (SELECT email::xml FROM customers LIMIT 1) COLUMNS v text) x"
      )
    ).toEqual(columns(col(EMAIL)))
    expect(await result('SELECT unnest(ARRAY[card, phone]) FROM customers')).toEqual(
      columns(col(CARD, PHONE))
    )
  })

  it('cannot be hidden behind a WITH RECURSIVE entry referred to before it is defined', async () => {
    expect(
      await result(
        'WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT email FROM customers) SELECT * FROM a'
      )
    ).toEqual(columns(col(EMAIL)))
  })

  it('cannot be hidden by renaming columns past their position', async () => {
    expect(await result('SELECT s.name FROM customers AS s(id, name)')).toEqual(columns(col(EMAIL)))
    expect(await result('SELECT * FROM (SELECT * FROM customers) s(a, b)')).toEqual(
      columns(col(), col(EMAIL), col(), col(CARD), col(PHONE), col())
    )
  })

  it('takes a column an inner unknown table may or may not have from the outer level too', async () => {
    expect(await result('SELECT (SELECT card FROM orders LIMIT 1) FROM customers')).toEqual(
      columns(col(CARD))
    )
  })

  it('does not treat filters and ordering as values', async () => {
    expect(
      await result(
        "SELECT name FROM customers WHERE email LIKE 'a%' GROUP BY name ORDER BY max(card)"
      )
    ).toEqual(columns(col()))
  })

  it('counts the columns SEARCH and CYCLE add, and taints the ones carrying values', async () => {
    expect(
      await result(
        'WITH RECURSIVE t(id, e) AS (SELECT id, email FROM customers UNION ALL SELECT id + 1, e FROM t) SEARCH DEPTH FIRST BY e SET ord CYCLE id SET is_cycle USING path SELECT * FROM t'
      )
    ).toEqual(columns(col(), col(EMAIL), col(EMAIL), col(), col()))
  })

  it('treats system columns as clean, unless the name is an alias of a sensitive column', async () => {
    expect(await result('SELECT ctid, c.xmin, tableoid::regclass FROM customers c')).toEqual(
      columns(col(), col(), col())
    )
    expect(
      await result(
        'SELECT s.xmin FROM (SELECT o.*, c.email FROM orders o, customers c) AS s(a, xmin)'
      )
    ).toEqual(columns(col(EMAIL)))
  })
})
