import { describe, expect, it } from 'vitest'
import type { Caller, SqlClass, SqlCommand, SqlStatement } from '../../../src/pipeline/types.ts'
import { compilePolicy } from '../../../src/policy/compile.ts'
import { decide } from '../../../src/policy/decide.ts'
import { PolicyDocument, type PolicyDocumentInput } from '../../../src/policy/document.ts'
import { principalsOf } from '../../../src/policy/principals.ts'
import { compileNamePattern } from '../../../src/policy/sql-names.ts'

const analyst: Caller = {
  id: 'agent:analyst',
  name: 'analyst',
  via: 'agent_token',
  idpGroups: [],
  scope: ['*'],
}
const dba: Caller = { id: 'user:dba', name: 'dba', via: 'oidc', idpGroups: ['dbas'], scope: ['*'] }

function statement(cls: SqlClass, tables: string[] = [], functions: string[] = []): SqlStatement {
  return {
    text: `-- ${cls}`,
    class: cls,
    kind: 'Test',
    writes: cls === 'write',
    tables,
    functions,
    risks: [],
  }
}

function sql(...statements: SqlStatement[]): SqlCommand {
  return { kind: 'sql', text: statements.map((s) => s.text).join(';'), statements, via: 'simple' }
}

const document: PolicyDocumentInput = {
  version: 1,
  connections: {
    db: {
      grants: ['agent:analyst', 'idp:dbas'],
      rules: [
        { name: 'dbas-anything', who: ['idp:dbas'], action: 'allow' },
        {
          name: 'no-secrets',
          match: { tables: ['secrets', 'pg_catalog.pg_authid'] },
          action: 'block',
          reason: 'Secrets are off limits.',
        },
        { name: 'no-file-reads', match: { functions: ['pg_read*', 'lo_*'] }, action: 'block' },
        {
          name: 'customer-writes',
          match: { classes: ['write'], tables: ['public.customers'] },
          action: 'require_approval',
          approvers: ['idp:dbas'],
        },
        {
          name: 'reads',
          match: { classes: ['read'], tables: ['orders', 'customers', 'public.products'] },
          action: 'allow',
        },
        { name: 'transactions', match: { classes: ['transaction', 'session'] }, action: 'allow' },
        { name: 'http-only', match: { methods: ['GET'] }, action: 'allow' },
      ],
    },
  },
}
const policy = compilePolicy(PolicyDocument.parse(document), 1, 'test')
const decideAs = (caller: Caller, command: SqlCommand) =>
  decide(policy, principalsOf(caller, policy), 'db', command)

describe('SQL rules', () => {
  it('allows a read whose every table is covered by the allow rule', () => {
    expect(decideAs(analyst, sql(statement('read', ['orders', 'public.products'])))).toMatchObject({
      action: 'allow',
      rule: { name: 'reads' },
    })
  })

  it('does not let an allow rule cover a read that also touches an unlisted table', () => {
    expect(decideAs(analyst, sql(statement('read', ['orders', 'payroll'])))).toMatchObject({
      action: 'block',
      rule: null,
    })
  })

  it('trips a block rule on any one referenced table, schema-qualified or not', () => {
    for (const tables of [
      ['orders', 'secrets'],
      ['vault.secrets'],
      ['pg_authid'],
      ['PG_CATALOG.PG_AUTHID'],
    ]) {
      expect(decideAs(analyst, sql(statement('read', tables))), tables.join()).toMatchObject({
        action: 'block',
        rule: { name: 'no-secrets' },
        reason: 'Secrets are off limits.',
      })
    }
  })

  it('does not match a qualified pattern against another schema', () => {
    expect(decideAs(analyst, sql(statement('read', ['other.pg_authid'])))).toMatchObject({
      action: 'block',
      rule: null,
    })
  })

  it('trips on function wildcards', () => {
    expect(decideAs(analyst, sql(statement('admin', [], ['pg_read_file'])))).toMatchObject({
      rule: { name: 'no-file-reads' },
    })
    expect(decideAs(analyst, sql(statement('read', [], ['lo_import'])))).toMatchObject({
      rule: { name: 'no-file-reads' },
    })
  })

  it('holds a write to a watched table for approval', () => {
    expect(decideAs(analyst, sql(statement('write', ['customers'])))).toMatchObject({
      action: 'require_approval',
      rule: { name: 'customer-writes' },
      approvers: ['idp:dbas'],
    })
  })

  it('never applies an HTTP rule to SQL', () => {
    expect(decideAs(analyst, sql(statement('ddl')))).toMatchObject({ action: 'block', rule: null })
  })

  it('blocks a whole batch when one of its statements is blocked, naming it', () => {
    const decision = decideAs(
      analyst,
      sql(statement('transaction'), statement('read', ['orders']), statement('read', ['secrets']))
    )
    expect(decision).toEqual({
      action: 'block',
      rule: { index: 1, name: 'no-secrets' },
      reason: 'Statement 3 of 3: Secrets are off limits.',
      statements: [
        { index: 0, action: 'allow', rule: 'transactions' },
        { index: 1, action: 'allow', rule: 'reads' },
        { index: 2, action: 'block', rule: 'no-secrets' },
      ],
    })
  })

  it('holds a batch for approval when its worst statement needs approval', () => {
    expect(
      decideAs(analyst, sql(statement('read', ['orders']), statement('write', ['customers'])))
    ).toMatchObject({
      action: 'require_approval',
      rule: { name: 'customer-writes' },
    })
  })

  it('falls to the default for an unknown (unparseable) statement', () => {
    expect(decideAs(analyst, sql(statement('unknown')))).toMatchObject({
      action: 'block',
      rule: null,
    })
  })

  it('lets a caller-specific rule decide before the tripwires', () => {
    expect(decideAs(dba, sql(statement('read', ['secrets'])))).toMatchObject({
      action: 'allow',
      rule: { name: 'dbas-anything' },
    })
  })
})

describe('SQL name patterns', () => {
  it.each([
    ['users', 'users', true],
    ['users', 'public.users', true],
    ['users', 'Users', true],
    ['public.users', 'users', true],
    ['public.users', 'public.users', true],
    ['public.users', 'audit.users', false],
    ['pg_catalog.*', 'pg_catalog.pg_authid', true],
    ['pg_catalog.*', 'pg_authid', true],
    ['dblink*', 'dblink_exec', true],
    ['dblink*', 'public.dblink', true],
    ['orders', 'orders_archive', false],
    ['a.b', 'x.a.b', true],
    ['users', '"public.users"', false],
    ['public.users', '"public.users"', false],
    ['users', 'a."users"', true],
    ['b', 'a."b.c"', false],
  ])('%s against %s → %s', (pattern, name, expected) => {
    expect(compileNamePattern(pattern)(name)).toBe(expected)
  })
})

describe('SQL rule validation', () => {
  it('refuses a rule that mixes HTTP and SQL matchers', () => {
    const result = PolicyDocument.safeParse({
      version: 1,
      connections: {
        db: {
          rules: [
            { name: 'mixed', action: 'allow', match: { methods: ['GET'], classes: ['read'] } },
          ],
        },
      },
    })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toBe(
      'a rule matches HTTP (methods, paths) or SQL (classes, tables, functions), not both'
    )
  })
})
