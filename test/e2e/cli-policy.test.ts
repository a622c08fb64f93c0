/**
 * `gatehouse policy`: policy as code against the running gateway. Every document applied
 * here keeps the demo connection's rules as they are, so other test files running at the
 * same time see the same decisions.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, inject, it } from 'vitest'
import { gatehouse, gatehouseJson } from './support/cli.ts'
import { asAgent } from './support/gateway.ts'

const VALID = 'test/e2e/fixtures/policy-with-reports.yaml'
const INVALID = 'test/e2e/fixtures/policy-invalid.yaml'
const CANDIDATE = 'test/e2e/fixtures/candidate-payments-allowed.yaml'

/** The issues in INVALID, as the gateway's schema words them, in its order. */
const INVALID_ISSUES = [
  '  connections.demo.grants[0]: must be user:<subject or e-mail>, agent:<name>, idp:<IdP group> or group:<group>',
  '  connections.demo.rules[0].match: Unrecognized key: "method"',
  '  connections.demo.rules[1].action: Invalid option: expected one of "allow"|"block"|"require_approval"',
  '  connections.demo.rules[1].match.paths[0]: must start with "/"',
]

async function policyVersion(): Promise<number> {
  return (await gatehouseJson<{ version: number }>(['policy', 'get'])).version
}

describe('gatehouse policy apply', () => {
  it('applies a valid YAML file as the next version and prints its warnings', async () => {
    const before = await policyVersion()
    const result = await gatehouse([
      'policy',
      'apply',
      '-f',
      VALID,
      '--comment',
      'e2e: add reports',
    ])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(
      new RegExp(
        `^Applied ${VALID} as policy version ${before + 1} \\(sha256 [0-9a-f]{12}\\)\\.\\n$`
      )
    )
    // Other files register throwaway connections (e2e-*) on the same stack, in an order
    // that varies; that this document gives them no policy is rightly warned, not asserted.
    const warnings = result.stderr
      .split('\n')
      .filter((line) => line && !/^warning: connection "e2e-[^"]+" has no policy/.test(line))
    expect(warnings).toEqual(['warning: connection "reports" is not registered yet'])
    expect(await policyVersion()).toBe(before + 1)
  })

  it('policy get --yaml returns the applied text byte for byte, comments included', async () => {
    await gatehouse(['policy', 'apply', '-f', VALID])
    const result = await gatehouse(['policy', 'get', '--yaml'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(await readFile(VALID, 'utf8'))
  })

  it('policy get --version N --yaml returns that version as applied', async () => {
    await gatehouse(['policy', 'apply', '-f', VALID])
    const version = await policyVersion()
    const result = await gatehouse(['policy', 'get', '--version', `${version}`, '--yaml'])
    expect(result.stdout).toBe(await readFile(VALID, 'utf8'))
  })

  it('an invalid file exits 1 and prints every issue as path: message', async () => {
    const result = await gatehouse(['policy', 'apply', '-f', INVALID])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      ['error: policy.invalid: The policy document is invalid', ...INVALID_ISSUES, ''].join('\n')
    )
  })

  it('an invalid file changes nothing: the version stays and deletes are still blocked', async () => {
    const before = await policyVersion()
    await gatehouse(['policy', 'apply', '-f', INVALID])
    expect(await policyVersion()).toBe(before)

    const response = await asAgent(inject('agentToken'), 'DELETE', '/proxy/demo/admin/users/7')
    expect(response.status).toBe(403)
    expect(await response.json()).toEqual({
      error: {
        code: 'policy.blocked',
        message: 'Agents may not delete admin resources.',
        data: { rule: 'no-admin-deletes' },
      },
    })
  })

  it('--if-match with a stale version is refused with policy.conflict and applies nothing', async () => {
    const before = await policyVersion()
    const stale = await gatehouse(['policy', 'apply', '-f', VALID, '--if-match', `${before - 1}`])
    expect(stale.code).toBe(1)
    expect(stale.stderr).toBe(
      `error: policy.conflict: The policy changed since version ${before - 1}; fetch it again and re-apply.\n`
    )
    expect(await policyVersion()).toBe(before)

    const current = await gatehouse(['policy', 'apply', '-f', VALID, '--if-match', `${before}`])
    expect(current.code).toBe(0)
    expect(await policyVersion()).toBe(before + 1)
  })
})

describe('gatehouse policy test', () => {
  it('names the rule that blocks a DELETE under /admin', async () => {
    const result = await gatehouse([
      'policy',
      'test',
      '--connection',
      'demo',
      '--as',
      'agent:demo-agent',
      '--method',
      'DELETE',
      '--path',
      '/admin/users/42',
    ])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(
      new RegExp(
        [
          '^block  DELETE /admin/users/42 on demo as agent:demo-agent',
          'rule: {7}rule #1 "no-admin-deletes" \\(policy v\\d+\\)',
          'reason: {5}Agents may not delete admin resources\\.',
          'principals: agent:demo-agent, group:agents',
          '$',
        ].join('\\n')
      )
    )
  })

  it('classifies a shell line and names the rule that blocks it on an SSH connection', async () => {
    const result = await gatehouse([
      'policy',
      'test',
      '--connection',
      'box',
      '--as',
      'agent:e2e-ssh-agent',
      '--shell',
      "ls /tmp && bash -c 'rm -rf /'",
    ])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(
      new RegExp(
        [
          "^block  shell ls /tmp && bash -c 'rm -rf /' on box as agent:e2e-ssh-agent",
          ' {2}1\\. read: ls /tmp {2}allow \\(rule "everything-else"\\)',
          ' {2}2\\. write via bash -c: rm -rf / {2}block \\(rule "no-rm-root"\\)',
          'rule: {7}rule #0 "no-rm-root" \\(policy v\\d+\\)',
          'reason: {5}Command 2 of 2: Agents may not delete the root file system\\.',
          'principals: agent:e2e-ssh-agent, group:ssh-agents',
          '$',
        ].join('\\n')
      )
    )
  })

  it('names the approvers and the expiry of a payment held for approval', async () => {
    const result = await gatehouse([
      'policy',
      'test',
      '--connection',
      'demo',
      '--as',
      'agent:demo-agent',
      '--method',
      'POST',
      '--path',
      '/payments',
    ])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(
      new RegExp(
        [
          '^require_approval  POST /payments on demo as agent:demo-agent',
          'rule: {7}rule #2 "payments-need-approval" \\(policy v\\d+\\)',
          'reason: {5}Moving money needs a human\\.',
          'approvers: {2}group:approvers',
          'expires: {4}after 15m without a decision',
          'principals: agent:demo-agent, group:agents',
          '$',
        ].join('\\n')
      )
    )
    const json = await gatehouseJson<{ decision: unknown }>([
      'policy',
      'test',
      '--connection',
      'demo',
      '--as',
      'agent:demo-agent',
      '--method',
      'POST',
      '--path',
      '/payments',
    ])
    expect(json.decision).toEqual({
      action: 'require_approval',
      rule: { index: 2, name: 'payments-need-approval' },
      reason: 'Moving money needs a human.',
      approvers: ['group:approvers'],
      expiresAfterSeconds: 900,
    })
  })

  it('says not_granted for an agent the policy does not grant, and what would apply if it were', async () => {
    const result = await gatehouseJson<{ effective: string; granted: boolean; decision: unknown }>([
      'policy',
      'test',
      '--connection',
      'demo',
      '--as',
      'agent:stranger',
      '--method',
      'GET',
      '--path',
      '/orders',
    ])
    expect(result.granted).toBe(false)
    expect(result.effective).toBe('not_granted')
    expect(result.decision).toEqual({
      action: 'allow',
      rule: { index: 0, name: 'read-only' },
      reason: 'Allowed by rule "read-only".',
    })
  })

  it('-f tests a candidate document without applying it', async () => {
    const before = await policyVersion()
    const candidate = await gatehouseJson<{ effective: string; decision: { rule: unknown } }>([
      'policy',
      'test',
      '--connection',
      'demo',
      '--as',
      'agent:demo-agent',
      '--method',
      'POST',
      '--path',
      '/payments',
      '-f',
      CANDIDATE,
    ])
    expect(candidate.effective).toBe('allow')
    expect(candidate.decision.rule).toEqual({ index: 1, name: 'small-payments-ok' })

    const live = await gatehouseJson<{ effective: string; decision: { rule: unknown } }>([
      'policy',
      'test',
      '--connection',
      'demo',
      '--as',
      'agent:demo-agent',
      '--method',
      'POST',
      '--path',
      '/payments',
    ])
    expect(live.effective).toBe('require_approval')
    expect(live.decision.rule).toEqual({ index: 2, name: 'payments-need-approval' })
    expect(await policyVersion()).toBe(before)
  })
})

describe('gatehouse policy validate', () => {
  const offline = { gateway: `http://127.0.0.1:${inject('deadPort')}`, token: null }

  it('accepts the demo policy offline, with no gateway running', async () => {
    const result = await gatehouse(
      ['policy', 'validate', '-f', 'cli/dev/demo-policy.yaml'],
      offline
    )
    expect(result).toEqual({
      code: 0,
      stdout: 'cli/dev/demo-policy.yaml is a valid policy: 2 group(s), 1 connection(s) (demo).\n',
      stderr: '',
    })
  })

  it('rejects an invalid file offline with exit 1 and the same issues the gateway reports', async () => {
    const result = await gatehouse(['policy', 'validate', '-f', INVALID], offline)
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      [`error: policy.invalid: ${INVALID} is not a valid policy`, ...INVALID_ISSUES, ''].join('\n')
    )
  })

  it('rejects duplicate YAML keys, as the gateway does', async () => {
    const result = await gatehouse(
      ['policy', 'validate', '-f', 'test/e2e/fixtures/duplicate-keys.yaml'],
      offline
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^error: policy\.invalid: test\/e2e\/fixtures\/duplicate-keys\.yaml is not valid YAML: Map keys must be unique/
    )
  })
})
