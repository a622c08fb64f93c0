import fc from 'fast-check'
import pgQueryWasm from 'libpg-query/wasm/libpg-query.wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { classifySql, SQL_CLASS_RISK } from '../../../src/policy/sql/index.ts'
import { instantiatePgQuery, type PgQuery } from '../../../src/policy/sql/pg-query.ts'

/** Tokens that make random strings land near real SQL, and near its lexical corner cases. */
const SQL_TOKENS = [
  'SELECT',
  'DELETE FROM',
  'INSERT INTO',
  'UPDATE',
  'SET',
  'WITH',
  'AS',
  'DO',
  'COPY',
  'TO PROGRAM',
  'FROM',
  'WHERE',
  'users',
  '"Users"',
  'public.t',
  'pg_read_file(',
  'now()',
  '(',
  ')',
  ',',
  ';',
  '*',
  '1',
  '$1',
  "'",
  "E'",
  '\\',
  '$$',
  '$x$',
  '--',
  '/*',
  '*/',
  '\n',
  ' ',
  'é',
]

const sqlish = fc
  .array(fc.constantFrom(...SQL_TOKENS), { maxLength: 24 })
  .map((tokens) => tokens.join(' '))

/** Valid statements, some with the lexical traps a naive splitter falls into. */
const STATEMENTS = [
  'SELECT 1',
  "SELECT 'é🐘;' AS x",
  'SELECT $q$ ; DROP TABLE t; $q$',
  "SELECT E'\\'; DELETE FROM t; --'",
  'DELETE FROM "Users" WHERE id = $1',
  'WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d',
  "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$",
  'COPY users TO STDOUT',
  'SET ROLE postgres',
  'EXPLAIN ANALYZE UPDATE t SET x = 1',
  'BEGIN',
  'COMMIT',
]
const SEPARATORS = [';', ' ; ', ';\n-- comment; DROP\n', '; /* ; */ ', ';;']

const batches = fc
  .tuple(
    fc.array(fc.constantFrom(...STATEMENTS), { minLength: 1, maxLength: 5 }),
    fc.array(fc.constantFrom(...SEPARATORS), { minLength: 5, maxLength: 5 })
  )
  .map(([statements, separators]) =>
    statements.map((each, index) => `${each}${separators[index]}`).join('')
  )

const anything = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
  sqlish,
  batches
)

let parser: PgQuery

beforeAll(async () => {
  parser = await instantiatePgQuery(pgQueryWasm)
})

describe('classifySql: properties', () => {
  it('never throws and always returns at least one statement of a known class', async () => {
    await fc.assert(
      fc.asyncProperty(anything, async (sql) => {
        const result = await classifySql(sql)
        expect(result.statements.length).toBeGreaterThanOrEqual(1)
        for (const each of result.statements)
          expect(SQL_CLASS_RISK[each.class]).toBeTypeOf('number')
      }),
      { numRuns: 600 }
    )
  })

  it('makes any string the parser rejects one unknown statement', async () => {
    await fc.assert(
      fc.asyncProperty(anything, async (sql) => {
        if (parser.parse(sql).ok) return
        const result = await classifySql(sql)
        expect(result.ok).toBe(false)
        expect(result.statements).toHaveLength(1)
        expect(result.statements[0]?.class).toBe('unknown')
      }),
      { numRuns: 600 }
    )
  })

  it('slices each statement so that it classifies alone as it did in the batch', async () => {
    await fc.assert(
      fc.asyncProperty(batches, async (sql) => {
        const batch = await classifySql(sql)
        expect(batch.ok).toBe(true)
        for (const each of batch.statements) {
          const alone = await classifySql(each.text)
          expect(alone.statements).toEqual([each])
        }
      }),
      { numRuns: 600 }
    )
  })
})
