import { describe, expect, it } from 'vitest'
import {
  classifySql,
  classifySqlSync,
  loadSqlClassifier,
  SQL_CLASS_RISK,
  type SqlClass,
  type StatementInfo,
} from '../../../src/policy/sql/index.ts'

async function only(sql: string): Promise<StatementInfo | undefined> {
  const result = await classifySql(sql)
  expect(result.ok).toBe(true)
  expect(result.statements).toHaveLength(1)
  return result.statements[0]
}

describe('classifySql: statement classes', () => {
  it.each<[string, SqlClass, string]>([
    ['TABLE users', 'read', 'SelectStmt'],
    ["VALUES (1, 'a'), (2, 'b')", 'read', 'SelectStmt'],
    [
      'INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v',
      'write',
      'InsertStmt',
    ],
    [
      'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v',
      'write',
      'MergeStmt',
    ],
    ['REFRESH MATERIALIZED VIEW mv', 'write', 'RefreshMatViewStmt'],
    ['TRUNCATE t', 'ddl', 'TruncateStmt'],
    ['CREATE TABLE t AS SELECT * FROM u', 'ddl', 'CreateTableAsStmt'],
    ["COMMENT ON TABLE t IS 'x'", 'ddl', 'CommentStmt'],
    ['GRANT SELECT ON t TO reader', 'privilege', 'GrantStmt'],
    ['REVOKE ALL ON DATABASE db FROM PUBLIC', 'privilege', 'GrantStmt'],
    [
      'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r',
      'privilege',
      'AlterDefaultPrivilegesStmt',
    ],
    ["CREATE USER u PASSWORD 'x'", 'privilege', 'CreateRoleStmt'],
    ['ALTER TABLE t OWNER TO bob', 'privilege', 'AlterTableStmt'],
    ['ALTER TABLE t DISABLE ROW LEVEL SECURITY', 'privilege', 'AlterTableStmt'],
    ['CREATE EXTENSION dblink', 'admin', 'CreateExtensionStmt'],
    ["LOAD 'auto_explain'", 'admin', 'LoadStmt'],
    ['DROP EXTENSION pgaudit', 'admin', 'DropStmt'],
    ['CHECKPOINT', 'admin', 'CheckPointStmt'],
    ['BEGIN ISOLATION LEVEL SERIALIZABLE', 'transaction', 'TransactionStmt'],
    ['SAVEPOINT s1', 'transaction', 'TransactionStmt'],
    ['COMMIT', 'transaction', 'TransactionStmt'],
    ['SET TRANSACTION READ WRITE', 'transaction', 'VariableSetStmt'],
    ['SET statement_timeout = 5000', 'session', 'VariableSetStmt'],
    ['SHOW search_path', 'session', 'VariableShowStmt'],
    ['RESET ALL', 'session', 'VariableSetStmt'],
    ['DISCARD ALL', 'session', 'DiscardStmt'],
    ['LISTEN ch', 'session', 'ListenStmt'],
    ["NOTIFY ch, 'payload'", 'session', 'NotifyStmt'],
    ['VACUUM t', 'utility', 'VacuumStmt'],
    ['ANALYZE t', 'utility', 'VacuumStmt'],
    ['DEALLOCATE ALL', 'utility', 'DeallocateStmt'],
    ['DECLARE c CURSOR FOR SELECT * FROM t', 'read', 'DeclareCursorStmt'],
    ['FETCH 10 FROM c', 'read', 'FetchStmt'],
  ])('classifies %s as %s (%s)', async (sql, cls, kind) => {
    const info = await only(sql)
    expect([info?.class, info?.kind]).toEqual([cls, kind])
  })

  it('notes what VACUUM FULL and two-phase commit hold', async () => {
    expect((await only('VACUUM FULL t'))?.risks).toEqual(['exclusive lock (VACUUM FULL)'])
    expect((await only("PREPARE TRANSACTION 'tx1'"))?.risks).toEqual(['two-phase commit'])
  })

  it('judges ALTER ROLE … SET and ALTER DATABASE … SET by the setting they persist', async () => {
    const result = await classifySql(
      'ALTER ROLE bob SET role = postgres; ALTER DATABASE d SET standard_conforming_strings = off; ALTER DATABASE d SET work_mem = 65536'
    )
    expect(result.statements.map((each) => [each.class, each.risks])).toEqual([
      ['privilege', ['role change']],
      ['admin', ['parser differential (standard_conforming_strings)']],
      ['ddl', []],
    ])
  })

  it('names powerful role attributes', async () => {
    expect((await only("CREATE ROLE r LOGIN SUPERUSER PASSWORD 'x'"))?.risks).toEqual([
      'role attribute superuser',
    ])
  })
})

describe('classifySql: relations', () => {
  it('does not let a CTE name hide a table of the same name in another scope', async () => {
    const sql =
      'SELECT * FROM users WHERE id IN (WITH users AS (SELECT 1 AS id) SELECT id FROM users)'
    expect((await only(sql))?.tables).toEqual(['users'])
  })

  it('excludes CTE names but keeps the tables their bodies read', async () => {
    const sql =
      'WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a) SELECT * FROM b JOIN c ON true'
    expect((await only(sql))?.tables).toEqual(['orders', 'c'])
  })

  it('reads a non-recursive CTE named like a table as the table inside its own body', async () => {
    expect((await only('WITH users AS (SELECT * FROM users) SELECT * FROM users'))?.tables).toEqual(
      ['users']
    )
  })

  it('treats a recursive CTE referring to itself as no table', async () => {
    const sql =
      'WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t'
    expect((await only(sql))?.tables).toEqual([])
  })

  it('never takes the target of an INSERT for a CTE', async () => {
    expect((await only('WITH t AS (SELECT 1) INSERT INTO t SELECT * FROM t'))?.tables).toEqual([
      't',
    ])
  })

  it('keeps schema and catalog qualifications', async () => {
    expect(
      (await only('SELECT * FROM pg_catalog.pg_authid, db.public.users, "Sales"."Q1"'))?.tables
    ).toEqual(['pg_catalog.pg_authid', 'db.public.users', 'Sales.Q1'])
  })

  it('quotes a name with a dot in it, so it cannot pass for a qualified name', async () => {
    expect((await only('SELECT * FROM "public.users"'))?.tables).toEqual(['"public.users"'])
  })

  it('lists the relations dropped, commented on, granted, locked and vacuumed', async () => {
    const result = await classifySql(
      "DROP TABLE s.a, b; COMMENT ON COLUMN s.c.x IS 'y'; GRANT SELECT ON d TO r; LOCK e; VACUUM f"
    )
    expect(result.statements.map((each) => each.tables)).toEqual([
      ['s.a', 'b'],
      ['s.c'],
      ['d'],
      ['e'],
      ['f'],
    ])
  })
})

describe('classifySql: robustness', () => {
  it('fails closed on a tree too deep to walk, and keeps working afterwards', async () => {
    const deep = `SELECT ${'(SELECT '.repeat(3000)}1${')'.repeat(3000)}`
    const result = await classifySql(deep)
    expect([result.ok, result.statements[0]?.class]).toEqual([false, 'unknown'])
    expect((await classifySql('SELECT 1')).ok).toBe(true)
  })

  it('classifies synchronously once loaded', async () => {
    await loadSqlClassifier()
    expect(classifySqlSync('UPDATE t SET x = 1').statements[0]?.class).toBe('write')
  })
})

describe('SQL_CLASS_RISK', () => {
  it('is a total order from read to unknown', () => {
    const ordered = Object.entries(SQL_CLASS_RISK)
      .sort(([, a], [, b]) => a - b)
      .map(([name]) => name)
    expect(ordered).toEqual([
      'read',
      'transaction',
      'session',
      'utility',
      'copy',
      'write',
      'ddl',
      'privilege',
      'admin',
      'unknown',
    ])
    expect(new Set(Object.values(SQL_CLASS_RISK)).size).toBe(10)
  })
})
