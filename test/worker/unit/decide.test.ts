import { describe, expect, it } from 'vitest'
import type { Caller, HttpCommand } from '../../../src/pipeline/types.ts'
import { compilePolicy } from '../../../src/policy/compile.ts'
import { decide, isGranted } from '../../../src/policy/decide.ts'
import { PolicyDocument, type PolicyDocumentInput } from '../../../src/policy/document.ts'
import { principalsOf } from '../../../src/policy/principals.ts'

function compile(input: PolicyDocumentInput) {
  return compilePolicy(PolicyDocument.parse(input), 1, 'test')
}

const agent = (name: string): Caller => ({
  id: `agent:${name}`,
  name,
  via: 'agent_token',
  idpGroups: [],
  scope: ['*'],
})

const user = (sub: string, idpGroups: string[] = [], email?: string): Caller => ({
  id: `user:${sub}`,
  name: sub,
  via: 'oidc',
  idpGroups,
  scope: ['*'],
  ...(email ? { email } : {}),
})

const http = (method: string, path: string): HttpCommand => ({
  kind: 'http',
  method,
  path,
  query: '',
  headers: {},
  body: null,
})

const policy = compile({
  version: 1,
  groups: {
    oncall: { members: ['idp:eng-oncall', 'user:alice@example.com'] },
    bots: { members: ['agent:billing-bot', 'agent:report-bot'] },
  },
  connections: {
    api: {
      grants: ['group:bots', 'group:oncall'],
      rules: [
        { name: 'oncall-anything', who: ['group:oncall'], action: 'allow' },
        { name: 'no-admin', match: { paths: ['/admin/**'] }, action: 'block', reason: 'No admin.' },
        { name: 'reads', match: { methods: ['get', 'HEAD'] }, action: 'allow' },
        {
          name: 'refunds',
          match: { methods: ['POST'], paths: ['/refunds'] },
          action: 'require_approval',
          approvers: ['group:oncall'],
        },
        {
          name: 'report-bot-posts',
          who: ['agent:report-bot'],
          match: { methods: ['POST'] },
          action: 'allow',
        },
      ],
    },
    open: {
      grants: ['agent:billing-bot'],
      default: 'allow',
      rules: [{ name: 'no-delete', match: { methods: ['DELETE'] }, action: 'block' }],
    },
  },
})

function decideFor(caller: Caller, connection: string, method: string, path: string) {
  return decide(policy, principalsOf(caller, policy), connection, http(method, path))
}

describe('grants', () => {
  it('grants through a group an agent is a member of', () => {
    expect(isGranted(policy, principalsOf(agent('billing-bot'), policy), 'api')).toBe(true)
  })

  it('grants through an IdP group mapped into a Gatehouse group', () => {
    expect(isGranted(policy, principalsOf(user('u1', ['eng-oncall']), policy), 'api')).toBe(true)
  })

  it('grants a user named by e-mail', () => {
    expect(
      isGranted(policy, principalsOf(user('u2', [], 'alice@example.com'), policy), 'api')
    ).toBe(true)
  })

  it('denies by default: no grant, no access', () => {
    expect(isGranted(policy, principalsOf(agent('stranger'), policy), 'api')).toBe(false)
    expect(isGranted(policy, principalsOf(user('u3', ['eng']), policy), 'api')).toBe(false)
  })

  it('does not let an agent named like a user match user grants', () => {
    const lookalike = compile({
      version: 1,
      connections: { api: { grants: ['user:billing-bot'] } },
    })
    expect(isGranted(lookalike, principalsOf(agent('billing-bot'), lookalike), 'api')).toBe(false)
  })

  it('grants nothing on a connection the policy does not mention', () => {
    expect(isGranted(policy, principalsOf(agent('billing-bot'), policy), 'elsewhere')).toBe(false)
  })
})

describe('first matching rule wins', () => {
  it('applies a caller-specific rule before a later block', () => {
    expect(decideFor(user('u1', ['eng-oncall']), 'api', 'DELETE', '/admin/users/1')).toMatchObject({
      action: 'allow',
      rule: { index: 0, name: 'oncall-anything' },
    })
  })

  it('blocks with the rule reason when the block comes first', () => {
    expect(decideFor(agent('billing-bot'), 'api', 'GET', '/admin/users')).toEqual({
      action: 'block',
      rule: { index: 1, name: 'no-admin' },
      reason: 'No admin.',
    })
  })

  it('matches methods case-insensitively as written in the policy', () => {
    expect(decideFor(agent('billing-bot'), 'api', 'GET', '/orders')).toMatchObject({
      action: 'allow',
      rule: { name: 'reads' },
    })
  })

  it('holds a command for approval and names the approvers', () => {
    expect(decideFor(agent('billing-bot'), 'api', 'POST', '/refunds')).toMatchObject({
      action: 'require_approval',
      rule: { name: 'refunds' },
      approvers: ['group:oncall'],
    })
  })

  it('applies a who-restricted rule only to its caller', () => {
    expect(decideFor(agent('report-bot'), 'api', 'POST', '/reports')).toMatchObject({
      action: 'allow',
      rule: { name: 'report-bot-posts' },
    })
    expect(decideFor(agent('billing-bot'), 'api', 'POST', '/reports')).toMatchObject({
      action: 'block',
      rule: null,
    })
  })

  it('falls to the connection default (block) when nothing matches', () => {
    expect(decideFor(agent('billing-bot'), 'api', 'PUT', '/orders/1')).toEqual({
      action: 'block',
      rule: null,
      reason: 'Blocked by the default of "api" (no rule matched).',
    })
  })

  it('honours an explicit default of allow', () => {
    expect(decideFor(agent('billing-bot'), 'open', 'PUT', '/x')).toMatchObject({
      action: 'allow',
      rule: null,
    })
    expect(decideFor(agent('billing-bot'), 'open', 'DELETE', '/x')).toMatchObject({
      action: 'block',
      rule: { name: 'no-delete' },
    })
  })

  it('matches paths case-insensitively unless the connection asks for case', () => {
    expect(decideFor(agent('billing-bot'), 'api', 'GET', '/Admin/users')).toMatchObject({
      action: 'block',
      rule: { name: 'no-admin' },
    })
    const strict = compile({
      version: 1,
      connections: {
        api: {
          grants: ['agent:x'],
          caseSensitivePaths: true,
          default: 'allow',
          rules: [{ name: 'no-admin', match: { paths: ['/admin/**'] }, action: 'block' }],
        },
      },
    })
    expect(
      decide(strict, principalsOf(agent('x'), strict), 'api', http('GET', '/Admin/users'))
    ).toMatchObject({ action: 'allow', rule: null })
  })

  it('blocks on a connection without policy', () => {
    expect(decideFor(agent('billing-bot'), 'ghost', 'GET', '/')).toMatchObject({
      action: 'block',
      rule: null,
    })
  })
})

describe('policy document validation', () => {
  function issues(input: unknown) {
    const result = PolicyDocument.safeParse(input)
    return result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
  }

  it('rejects unknown keys, so a typo cannot silently widen access', () => {
    expect(
      issues({
        version: 1,
        connections: {
          api: {
            grants: [],
            rules: [{ name: 'r', action: 'block', match: { metods: ['DELETE'] } }],
          },
        },
      })
    ).toEqual(['connections.api.rules.0.match: Unrecognized key: "metods"'])
  })

  it('rejects references to undefined groups', () => {
    expect(issues({ version: 1, connections: { api: { grants: ['group:ghosts'] } } })).toEqual([
      'connections.api.grants.0: group "ghosts" is not defined under groups',
    ])
  })

  it('rejects duplicate rule names, bad actions, bad paths and malformed subjects', () => {
    expect(
      issues({
        version: 1,
        connections: {
          api: {
            grants: ['bob'],
            rules: [
              { name: 'r', action: 'allow', match: { paths: ['admin'] } },
              { name: 'r', action: 'permit' },
              { name: 's', action: 'allow', match: { paths: ['/a**'] } },
            ],
          },
        },
      })
    ).toEqual([
      'connections.api.grants.0: must be user:<subject or e-mail>, agent:<name>, idp:<IdP group> or group:<group>',
      'connections.api.rules.0.match.paths.0: must start with "/"',
      'connections.api.rules.1.action: Invalid option: expected one of "allow"|"block"|"require_approval"',
      'connections.api.rules.2.match.paths.0: "**" must be a whole path segment, as in /admin/**',
    ])
  })

  it('rejects approvers on a rule that does not require approval', () => {
    expect(
      issues({
        version: 1,
        connections: { api: { rules: [{ name: 'r', action: 'allow', approvers: ['user:x'] }] } },
      })
    ).toEqual(['connections.api.rules.0.approvers: approvers only apply to require_approval rules'])
  })

  it('rejects groups nested in groups', () => {
    expect(
      issues({ version: 1, groups: { a: { members: ['group:b'] }, b: { members: [] } } })
    ).toEqual([
      'groups.a.members.0: groups cannot contain groups; list user:, agent: or idp: members',
    ])
  })
})
