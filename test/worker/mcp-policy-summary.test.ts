/**
 * The plain-words policy summary MCP tool descriptions carry: rules as they apply to one
 * caller, in order, then the default and what is masked. A pure function of the compiled
 * policy and the caller's principals.
 */
import { describe, expect, it } from 'vitest'
import { summarizeConnectionPolicy } from '../../src/mcp/policy-summary.ts'
import { compilePolicy } from '../../src/policy/compile.ts'
import { PolicyDocument, type PolicyDocumentInput } from '../../src/policy/document.ts'

function compiled(document: PolicyDocumentInput) {
  return compilePolicy(PolicyDocument.parse(document), 1, '')
}

const SHOP = compiled({
  version: 1,
  groups: { oncall: { members: ['user:alice@example.com'] } },
  connections: {
    appdb: {
      grants: ['agent:bot', 'group:oncall'],
      approval: { approvers: ['idp:dba'] },
      rules: [
        { name: 'oncall-anything', who: ['group:oncall'], action: 'allow' },
        {
          name: 'no-ddl',
          match: { classes: ['ddl', 'admin'] },
          action: 'block',
          reason: 'Schema changes go through migrations.',
        },
        { name: 'no-secrets', match: { tables: ['secrets', 'pg_catalog.*'] }, action: 'block' },
        {
          name: 'order-writes',
          match: { classes: ['write'], tables: ['orders'] },
          action: 'require_approval',
        },
        {
          name: 'shop-reads',
          match: { classes: ['read'], tables: ['orders', 'customers'] },
          action: 'allow',
        },
        { name: 'no-dblink', match: { functions: ['dblink*'] }, action: 'block' },
      ],
      masking: {
        exempt: ['group:oncall'],
        columns: {
          'customers.email': 'token',
          'customers.ssn': { strategy: 'redact', exempt: ['agent:bot'] },
        },
        detectors: { email: 'redact' },
      },
    },
    api: {
      grants: ['agent:bot'],
      default: 'allow',
      rules: [
        {
          name: 'no-admin',
          match: { methods: ['DELETE'], paths: ['/admin/**'] },
          action: 'block',
        },
        {
          name: 'refunds',
          match: { methods: ['POST'], paths: ['/refunds', '/refunds/**'] },
          action: 'require_approval',
          approvers: ['group:oncall', 'idp:finance'],
        },
        { name: 'exports', match: { paths: ['/exports/*'] }, action: 'block' },
      ],
    },
    quiet: { grants: ['agent:bot'] },
  },
})

describe('summarizeConnectionPolicy', () => {
  it('describes SQL rules in order, skipping rules for other callers, then the default and masking', () => {
    expect(summarizeConnectionPolicy(SHOP, 'appdb', 'postgres', new Set(['agent:bot']))).toEqual([
      'blocked: DDL (CREATE, ALTER, DROP, TRUNCATE), admin statements (server files, COPY PROGRAM, extensions, settings) (rule no-ddl: Schema changes go through migrations.)',
      'blocked: statements touching secrets, pg_catalog.* (rule no-secrets)',
      'needs approval: writes (INSERT, UPDATE, DELETE, MERGE) touching orders (rule order-writes)',
      'allowed: reads (SELECT) only on orders, customers (rule shop-reads)',
      'blocked: statements calling dblink* (rule no-dblink)',
      'anything else: blocked',
      'masked in results: columns customers.email; values found by detectors (email)',
    ])
  })

  it('shows a caller its own rules first and says when nothing is masked for it', () => {
    expect(
      summarizeConnectionPolicy(
        SHOP,
        'appdb',
        'postgres',
        new Set(['user:alice@example.com', 'group:oncall'])
      )
    ).toEqual([
      'allowed: every command (rule oncall-anything)',
      'blocked: DDL (CREATE, ALTER, DROP, TRUNCATE), admin statements (server files, COPY PROGRAM, extensions, settings) (rule no-ddl: Schema changes go through migrations.)',
      'blocked: statements touching secrets, pg_catalog.* (rule no-secrets)',
      'needs approval: writes (INSERT, UPDATE, DELETE, MERGE) touching orders (rule order-writes)',
      'allowed: reads (SELECT) only on orders, customers (rule shop-reads)',
      'blocked: statements calling dblink* (rule no-dblink)',
      'anything else: blocked',
      'values are shown to you unmasked (transcripts stay masked)',
    ])
  })

  it('describes HTTP rules by method and path, with the approvers a rule names', () => {
    expect(summarizeConnectionPolicy(SHOP, 'api', 'http', new Set(['agent:bot']))).toEqual([
      'blocked: DELETE requests to /admin/** (rule no-admin)',
      'needs approval by group:oncall or idp:finance: POST requests to /refunds, /refunds/** (rule refunds)',
      'blocked: any request to /exports/* (rule exports)',
      'anything else: allowed',
    ])
  })

  it('says what a connection without rules does, and what an unknown one does', () => {
    expect(summarizeConnectionPolicy(SHOP, 'quiet', 'postgres', new Set(['agent:bot']))).toEqual([
      'every command: blocked',
    ])
    expect(summarizeConnectionPolicy(SHOP, 'nowhere', 'postgres', new Set(['agent:bot']))).toEqual([
      'no policy covers this connection: every command is blocked',
    ])
  })

  it('describes shell rules by class, program, option and operand', () => {
    // Built without the schema, so the summary is checked on the rule shapes alone.
    const document = {
      version: 1,
      groups: {},
      slackUsers: {},
      connections: {
        box: {
          grants: ['agent:bot'],
          default: 'block',
          caseSensitivePaths: false,
          rules: [
            {
              name: 'no-rm-rf',
              match: { programs: ['rm'], options: ['r', 'recursive'] },
              action: 'block',
            },
            {
              name: 'restarts',
              match: { programs: ['systemctl'], args: ['restart'] },
              action: 'require_approval',
              approvers: ['idp:sre'],
            },
            { name: 'reads', match: { classes: ['read'] }, action: 'allow' },
          ],
        },
      },
    } as unknown as PolicyDocument
    expect(
      summarizeConnectionPolicy(
        compilePolicy(document, 1, ''),
        'box',
        'ssh',
        new Set(['agent:bot'])
      )
    ).toEqual([
      'blocked: commands running rm with option r, recursive (rule no-rm-rf)',
      'needs approval by idp:sre: commands running systemctl on restart (rule restarts)',
      'allowed: read-only commands (rule reads)',
      'anything else: blocked',
    ])
  })

  it('lists at most twelve rules and counts the rest', () => {
    const many = compiled({
      version: 1,
      connections: {
        big: {
          grants: ['agent:bot'],
          rules: Array.from({ length: 15 }, (_, index) => ({
            name: `r${index}`,
            match: { paths: [`/p${index}`] },
            action: 'allow' as const,
          })),
        },
      },
    })
    const lines = summarizeConnectionPolicy(many, 'big', 'http', new Set(['agent:bot']))
    expect(lines).toHaveLength(14)
    expect(lines.at(-3)).toBe('allowed: any request to /p11 (rule r11)')
    expect(lines.at(-2)).toBe('… 3 more rules')
    expect(lines.at(-1)).toBe('anything else: blocked')
  })
})
