import { describe, expect, it } from 'vitest'
import { classifySql, type StatementInfo } from '../../../src/policy/sql/index.ts'

/** A statement as expected, with the quiet fields defaulted: every field is still compared. */
function statement(
  expected: Pick<StatementInfo, 'text' | 'class' | 'kind'> & Partial<StatementInfo>
): StatementInfo {
  return { writes: false, tables: [], functions: [], risks: [], ...expected }
}

function unparsed(text: string): StatementInfo {
  return statement({
    text,
    class: 'unknown',
    kind: 'Unparsed',
    writes: true,
    risks: ['unparsed SQL'],
  })
}

describe('classifySql: batches', () => {
  it('gives one statement per statement of a multi-statement string', async () => {
    expect(await classifySql('SELECT 1; DROP TABLE users')).toEqual({
      ok: true,
      statements: [
        statement({ text: 'SELECT 1', class: 'read', kind: 'SelectStmt' }),
        statement({
          text: 'DROP TABLE users',
          class: 'ddl',
          kind: 'DropStmt',
          writes: true,
          tables: ['users'],
        }),
      ],
    })
  })

  it('fails the whole batch closed when a later statement does not parse', async () => {
    expect(await classifySql('SELECT 1; SELEC 2')).toEqual({
      ok: false,
      error: 'syntax error at or near "SELEC" at character 11',
      statements: [unparsed('SELECT 1; SELEC 2')],
    })
  })

  it('treats a garbage string as one unknown statement', async () => {
    expect(await classifySql('hello there, database')).toEqual({
      ok: false,
      error: 'syntax error at or near "hello" at character 1',
      statements: [unparsed('hello there, database')],
    })
  })

  it('treats an empty string as one unknown statement', async () => {
    expect(await classifySql('')).toEqual({
      ok: false,
      error: 'no SQL statement',
      statements: [unparsed('')],
    })
  })

  it('treats a batch of only comments and semicolons as one unknown statement', async () => {
    expect(await classifySql(' -- nothing\n ; /* here */ ;')).toEqual({
      ok: false,
      error: 'no SQL statement',
      statements: [unparsed('-- nothing\n ; /* here */ ;')],
    })
  })

  it('slices statement texts by byte offsets, so non-ASCII text before them is harmless', async () => {
    expect(await classifySql("SELECT 'é🐘'; DELETE FROM t")).toEqual({
      ok: true,
      statements: [
        statement({ text: "SELECT 'é🐘'", class: 'read', kind: 'SelectStmt' }),
        statement({
          text: 'DELETE FROM t',
          class: 'write',
          kind: 'DeleteStmt',
          writes: true,
          tables: ['t'],
        }),
      ],
    })
  })

  it('refuses a NUL character, after which Postgres would not read', async () => {
    expect(await classifySql('SELECT 1\u0000; DROP TABLE users')).toEqual({
      ok: false,
      error: 'NUL byte in SQL at character 9',
      statements: [unparsed('SELECT 1\u0000; DROP TABLE users')],
    })
  })
})

describe('classifySql: maintenance and notifications', () => {
  it('classifies TRUNCATE as DDL that writes, VACUUM as a utility, LISTEN and NOTIFY as session', async () => {
    expect(
      await classifySql("TRUNCATE t; VACUUM (ANALYZE) t; LISTEN jobs; NOTIFY jobs, 'go'")
    ).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'TRUNCATE t',
          class: 'ddl',
          kind: 'TruncateStmt',
          writes: true,
          tables: ['t'],
        }),
        statement({
          text: 'VACUUM (ANALYZE) t',
          class: 'utility',
          kind: 'VacuumStmt',
          tables: ['t'],
        }),
        statement({ text: 'LISTEN jobs', class: 'session', kind: 'ListenStmt' }),
        statement({ text: "NOTIFY jobs, 'go'", class: 'session', kind: 'NotifyStmt' }),
      ],
    })
  })
})

describe('classifySql: lexical tricks', () => {
  it('reads past a block comment that names another statement', async () => {
    expect(await classifySql('/* DROP */ SELECT 1')).toEqual({
      ok: true,
      statements: [statement({ text: '/* DROP */ SELECT 1', class: 'read', kind: 'SelectStmt' })],
    })
  })

  it('sees a DELETE after a line comment', async () => {
    expect(await classifySql('-- x\nDELETE FROM t')).toEqual({
      ok: true,
      statements: [
        statement({
          text: '-- x\nDELETE FROM t',
          class: 'write',
          kind: 'DeleteStmt',
          writes: true,
          tables: ['t'],
        }),
      ],
    })
  })

  it('keeps the case of a quoted table name', async () => {
    expect(await classifySql('DeLeTe FrOm "Users"')).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'DeLeTe FrOm "Users"',
          class: 'write',
          kind: 'DeleteStmt',
          writes: true,
          tables: ['Users'],
        }),
      ],
    })
  })

  it('lower-cases an unquoted table name', async () => {
    expect(await classifySql('delete from USERS')).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'delete from USERS',
          class: 'write',
          kind: 'DeleteStmt',
          writes: true,
          tables: ['users'],
        }),
      ],
    })
  })

  it('does not split inside dollar-quoted strings holding semicolons and fake statements', async () => {
    const sql = "SELECT $$; DROP TABLE users; $$, $tag$'; DELETE FROM t; --$tag$ AS x"
    expect(await classifySql(sql)).toEqual({
      ok: true,
      statements: [statement({ text: sql, class: 'read', kind: 'SelectStmt' })],
    })
  })

  it('splits a backslash-ended string as Postgres does (standard_conforming_strings on)', async () => {
    const result = await classifySql("SELECT 'a\\'; DROP TABLE t; --'")
    expect(result.statements.map((each) => [each.text, each.class])).toEqual([
      ["SELECT 'a\\'", 'read'],
      ['DROP TABLE t', 'ddl'],
    ])
  })

  it("reads an E'' string's escaped quote as part of the string", async () => {
    const sql = "SELECT E'\\'; DROP TABLE t; --'"
    expect(await classifySql(sql)).toEqual({
      ok: true,
      statements: [statement({ text: sql, class: 'read', kind: 'SelectStmt' })],
    })
  })
})

describe('classifySql: what a query really does', () => {
  it('classifies a writable CTE as a write to the table it modifies', async () => {
    expect(await classifySql('WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d')).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d',
          class: 'write',
          kind: 'SelectStmt',
          writes: true,
          tables: ['users'],
          risks: ['writable CTE'],
        }),
      ],
    })
  })

  it('classifies SELECT … FOR UPDATE as a write (it writes row locks)', async () => {
    expect(await classifySql('SELECT * FROM users FOR UPDATE')).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'SELECT * FROM users FOR UPDATE',
          class: 'write',
          kind: 'SelectStmt',
          writes: true,
          tables: ['users'],
          risks: ['row lock (FOR UPDATE)'],
        }),
      ],
    })
  })

  it('classifies SELECT … INTO as DDL, like CREATE TABLE AS', async () => {
    expect(await classifySql('SELECT * INTO newtable FROM users')).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'SELECT * INTO newtable FROM users',
          class: 'ddl',
          kind: 'SelectStmt',
          writes: true,
          tables: ['newtable', 'users'],
          risks: ['SELECT INTO creates a table'],
        }),
      ],
    })
  })

  it('classifies EXPLAIN ANALYZE DELETE as the write it executes', async () => {
    expect(await classifySql('EXPLAIN ANALYZE DELETE FROM t WHERE id = 1')).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'EXPLAIN ANALYZE DELETE FROM t WHERE id = 1',
          class: 'write',
          kind: 'ExplainStmt',
          writes: true,
          tables: ['t'],
          risks: ['EXPLAIN ANALYZE executes the statement'],
        }),
      ],
    })
  })

  it('classifies EXPLAIN without ANALYZE (or with ANALYZE off) as a utility', async () => {
    for (const sql of ['EXPLAIN DELETE FROM t', 'EXPLAIN (ANALYZE off, VERBOSE) DELETE FROM t']) {
      expect(await classifySql(sql)).toEqual({
        ok: true,
        statements: [
          statement({ text: sql, class: 'utility', kind: 'ExplainStmt', tables: ['t'] }),
        ],
      })
    }
  })

  it('treats any ANALYZE value but an explicit false as executing', async () => {
    const result = await classifySql(
      'EXPLAIN (ANALYZE 1) DELETE FROM t; EXPLAIN (ANALYZE yes) DELETE FROM t'
    )
    expect(result.statements.map((each) => each.class)).toEqual(['write', 'write'])
  })

  it('finds functions called in subqueries', async () => {
    expect(
      await classifySql("SELECT * FROM a WHERE x IN (SELECT pg_read_file('/etc/passwd'))")
    ).toEqual({
      ok: true,
      statements: [
        statement({
          text: "SELECT * FROM a WHERE x IN (SELECT pg_read_file('/etc/passwd'))",
          class: 'admin',
          kind: 'SelectStmt',
          tables: ['a'],
          functions: ['pg_read_file'],
          risks: ['dangerous function pg_read_file'],
        }),
      ],
    })
  })

  it('finds functions in DEFAULT expressions, which run on every later insert', async () => {
    const sql = "CREATE TABLE t (id bigint DEFAULT nextval('s'), x text DEFAULT pg_read_file('/x'))"
    expect(await classifySql(sql)).toEqual({
      ok: true,
      statements: [
        statement({
          text: sql,
          class: 'admin',
          kind: 'CreateStmt',
          writes: true,
          tables: ['t'],
          functions: ['nextval', 'pg_read_file'],
          risks: ['modifying function nextval', 'dangerous function pg_read_file'],
        }),
      ],
    })
  })
})
