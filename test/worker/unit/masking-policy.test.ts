import { describe, expect, it } from 'vitest'
import { maskingProfile } from '../../../src/masking/profile.ts'
import { compilePolicy } from '../../../src/policy/compile.ts'
import { describeIssues, PolicyDocument } from '../../../src/policy/document.ts'

const SECRET = new Uint8Array(32).fill(7)

function issuesOf(masking: unknown) {
  const result = PolicyDocument.safeParse({
    version: 1,
    groups: { dba: { members: ['agent:dba'] } },
    connections: { db: { grants: ['agent:bot'], masking } },
  })
  return result.success ? [] : describeIssues(result.error)
}

function profileFor(masking: unknown, principals: string[]) {
  const document = PolicyDocument.parse({
    version: 1,
    groups: { dba: { members: ['agent:dba'] } },
    connections: { db: { grants: ['agent:bot', 'agent:dba'], masking } },
  })
  return maskingProfile(compilePolicy(document, 1, ''), 'db', new Set(principals), SECRET)
}

describe('the masking section of a policy document', () => {
  it('accepts columns, paths, detectors, exemptions and the unknown-lineage choice', () => {
    expect(
      issuesOf({
        exempt: ['group:dba'],
        columns: { 'public.customers.email': 'token', 'customers.card': { strategy: 'partial' } },
        paths: { '$.users[*].email': 'redact', '$..token': 'redact' },
        detectors: { all: 'redact', card: 'partial' },
        unknownLineage: 'mask',
      })
    ).toEqual([])
  })

  it.each([
    [{ columns: { email: 'token' } }, 'connections.db.masking.columns.email'],
    [{ columns: { 'a.b.c': 'scramble' } }, 'connections.db.masking.columns.a.b.c'],
    [{ paths: { 'users.email': 'redact' } }, 'connections.db.masking.paths.users.email'],
    [{ paths: { '$.users[': 'redact' } }, 'connections.db.masking.paths.$.users['],
    [{ exempt: ['group:nobody'] }, 'connections.db.masking.exempt[0]'],
    [{ unknownLineage: 'allow' }, 'connections.db.masking.unknownLineage'],
    [{ colums: {} }, 'connections.db.masking'],
  ])('refuses %j, naming %s', (masking, path) => {
    expect(issuesOf(masking).map((issue) => issue.path)).toContain(path)
  })
})

describe('detector names', () => {
  it('refuses an unknown detector, naming it', () => {
    const issues = issuesOf({ detectors: { passport: 'redact' } })
    expect(issues).toHaveLength(1)
    expect(issues[0]?.path).toMatch(/^connections\.db\.masking\.detectors/)
    expect(JSON.stringify(issues[0])).toContain('passport')
  })
})

describe('the masking profile of a caller', () => {
  const masking = {
    columns: {
      'public.customers.email': 'token',
      'customers.ssn': { strategy: 'redact', exempt: ['agent:bot'] },
    },
    detectors: { all: 'redact', email: 'token' },
  }

  it('binds each column to its reason and strategy', () => {
    const profile = profileFor(masking, ['agent:dba'])
    expect(profile.active).toBe(true)
    expect(profile.columns).toEqual([
      {
        schema: 'public',
        table: 'customers',
        column: 'email',
        reason: 'column:public.customers.email',
        strategy: 'token',
      },
      {
        schema: undefined,
        table: 'customers',
        column: 'ssn',
        reason: 'column:customers.ssn',
        strategy: 'redact',
      },
    ])
  })

  it('leaves out a column the caller is exempt from, but still records with every detector', () => {
    const profile = profileFor(masking, ['agent:bot'])
    expect(profile.columns.map((column) => column.column)).toEqual(['email'])
    expect(profile.record.mask('call ada@example.com')).not.toContain('ada@example.com')
  })

  it('masks a value derived from several columns with the strongest strategy', () => {
    const profile = profileFor(masking, ['agent:dba'])
    expect(profile.maskFor(['column:public.customers.email', 'column:customers.ssn'])('x')).toBe(
      '[REDACTED]'
    )
    expect(profile.maskFor(['column:public.customers.email'])('x')).toMatch(/^tok_[a-z2-7]{16}$/)
  })

  it('masks nothing for a caller exempt from the whole connection', () => {
    const profile = profileFor({ ...masking, exempt: ['group:dba'] }, ['agent:dba', 'group:dba'])
    expect(profile.active).toBe(false)
    expect(profile.text.mask('ada@example.com')).toBe('ada@example.com')
    expect(profile.record.mask('ada@example.com')).not.toBe('ada@example.com')
  })
})
