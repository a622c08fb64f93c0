import { describe, expect, it } from 'vitest'
import { commandHash, commandSummary } from '../../src/approvals/fingerprint.ts'
import { CommandView } from '../../src/approvals/page/command-view.tsx'
import type { Caller, Decision, ShellCommand } from '../../src/pipeline/types.ts'
import { compilePolicy } from '../../src/policy/compile.ts'
import { decide } from '../../src/policy/decide.ts'
import {
  describeIssues,
  PolicyDocument,
  type PolicyDocumentInput,
  RuleMatch,
} from '../../src/policy/document.ts'
import { principalsOf } from '../../src/policy/principals.ts'
import { classifyShell, interactiveShell } from '../../src/policy/shell/index.ts'
import { adminJson } from './support/gateway.ts'

const agent: Caller = {
  id: 'agent:ops-bot',
  name: 'ops-bot',
  via: 'agent_token',
  idpGroups: [],
  scope: ['*'],
}

/** The policy from issue 7: dangerous commands blocked, root and restarts held, reads allowed. */
const SSH_POLICY: PolicyDocumentInput = {
  version: 1,
  connections: {
    web1: {
      grants: ['agent:ops-bot'],
      default: 'block',
      approval: { approvers: ['user:oncall@example.com'] },
      rules: [
        {
          name: 'no-rm-root',
          action: 'block',
          match: { programs: ['rm'], options: ['r', 'R', 'recursive'], args: ['/', '/*'] },
        },
        { name: 'no-mkfs', action: 'block', match: { programs: ['mkfs*'] } },
        {
          name: 'shutdown',
          action: 'block',
          match: { programs: ['shutdown', 'reboot', 'halt', 'poweroff'] },
        },
        {
          name: 'sudo-needs-approval',
          action: 'require_approval',
          match: { classes: ['privilege'] },
        },
        {
          name: 'restart-needs-approval',
          action: 'require_approval',
          match: { programs: ['systemctl'], args: ['restart', 'stop'] },
        },
        { name: 'shells', action: 'require_approval', match: { classes: ['interactive'] } },
        { name: 'reads', action: 'allow', match: { classes: ['read'] } },
      ],
    },
  },
}

function decider(input: PolicyDocumentInput) {
  const policy = compilePolicy(PolicyDocument.parse(input), 1, 'test')
  return (command: ShellCommand): Decision =>
    decide(policy, principalsOf(agent, policy), 'web1', command)
}

const decideSsh = decider(SSH_POLICY)
const decideLine = (line: string) => decideSsh(classifyShell(line, 'exec'))

describe('shell policy: the issue 7 example', () => {
  for (const line of [
    'rm -rf /',
    'rm -r -f /',
    'rm --recursive --force /',
    'sudo rm -rf /',
    "bash -c 'rm -rf /'",
    'ls; rm -fr /',
    'echo $(rm -rf /)',
    'x=1 /bin/rm -rf /',
    'rm -rf /*',
    'rm -rf //',
    'rm -rf /tmp/../',
    'rm --rec -f /',
    "r''m -rf /",
    "$'\\x72m' -rf /",
    '{rm,-rf,/}',
    'sudo sh -c "cd /tmp && rm -Rf /"',
  ]) {
    it(`blocks ${line} with rule no-rm-root`, () => {
      expect(decideLine(line)).toMatchObject({
        action: 'block',
        rule: { name: 'no-rm-root' },
      })
    })
  }

  it('blocks mkfs and shutdown by program name', () => {
    expect(decideLine('mkfs.ext4 /dev/sdb1')).toMatchObject({ rule: { name: 'no-mkfs' } })
    expect(decideLine('/sbin/poweroff')).toMatchObject({ rule: { name: 'shutdown' } })
  })

  it('holds sudo systemctl restart nginx for approval', () => {
    expect(decideLine('sudo systemctl restart nginx')).toEqual({
      action: 'require_approval',
      rule: { index: 3, name: 'sudo-needs-approval' },
      reason: 'Needs approval under rule "sudo-needs-approval".',
      approvers: ['user:oncall@example.com'],
    })
    expect(decideLine('systemctl stop nginx')).toMatchObject({
      action: 'require_approval',
      rule: { name: 'restart-needs-approval' },
    })
  })

  it('allows ls -la /var/log | grep err, a pipeline of reads', () => {
    expect(decideLine('ls -la /var/log | grep err')).toEqual({
      action: 'allow',
      rule: { index: 6, name: 'reads' },
      reason: 'Command 1 of 2: Allowed by rule "reads".',
      statements: [
        { index: 0, action: 'allow', rule: 'reads' },
        { index: 1, action: 'allow', rule: 'reads' },
      ],
    })
  })

  it('blocks cat /etc/hostname > /tmp/x by default: the redirection makes it a write', () => {
    expect(decideLine('cat /etc/hostname > /tmp/x')).toMatchObject({ action: 'block', rule: null })
  })

  it('blocks eval "$X" by default: code the gateway cannot see', () => {
    expect(classifyShell('eval "$X"', 'exec').commands[0]?.class).toBe('code')
    expect(decideLine('eval "$X"')).toMatchObject({ action: 'block', rule: null })
  })

  it("blocks an unbalanced quote by default: echo 'x is unknown", () => {
    expect(decideLine("echo 'x")).toMatchObject({ action: 'block', rule: null })
  })

  it('holds an interactive shell for approval', () => {
    expect(decideSsh(interactiveShell())).toMatchObject({
      action: 'require_approval',
      rule: { name: 'shells' },
    })
  })

  it('gives the line the most severe answer and says which command decided it', () => {
    expect(decideLine('ls; sudo systemctl restart nginx; rm -rf /')).toEqual({
      action: 'block',
      rule: { index: 0, name: 'no-rm-root' },
      reason: 'Command 3 of 3: Blocked by rule "no-rm-root".',
      statements: [
        { index: 0, action: 'allow', rule: 'reads' },
        { index: 1, action: 'require_approval', rule: 'sudo-needs-approval' },
        { index: 2, action: 'block', rule: 'no-rm-root' },
      ],
    })
  })

  it('lets rm -rf of another directory fall to the default, not to no-rm-root', () => {
    expect(decideLine('rm -rf /tmp/build')).toMatchObject({ action: 'block', rule: null })
    expect(decideLine('rm /')).toMatchObject({ action: 'block', rule: null })
  })

  it('decides an empty command list as unknown', () => {
    const empty: ShellCommand = { kind: 'shell', text: '', commands: [], via: 'exec' }
    const allowReads = decider({
      version: 1,
      connections: {
        web1: {
          grants: ['agent:ops-bot'],
          rules: [
            { name: 'reads', action: 'allow', match: { classes: ['read'] } },
            { name: 'unknown', action: 'block', match: { classes: ['unknown'] } },
          ],
          default: 'allow',
        },
      },
    })
    expect(allowReads(empty)).toMatchObject({ action: 'block', rule: { name: 'unknown' } })
  })
})

describe('shell policy: allow rules are limits, block rules are tripwires', () => {
  const decideWith = decider({
    version: 1,
    connections: {
      web1: {
        grants: ['agent:ops-bot'],
        default: 'block',
        rules: [
          {
            name: 'tmp-cleanup',
            action: 'allow',
            match: { programs: ['rm'], options: ['f', 'r'], args: ['/tmp/**'] },
          },
          {
            name: 'logs',
            action: 'allow',
            match: { programs: ['tail', 'cat'], args: ['/var/log/**'] },
          },
          {
            name: 'no-force-push',
            action: 'block',
            match: { programs: ['git'], options: ['force', 'f'] },
          },
          { name: 'git', action: 'allow', match: { programs: ['git'] } },
        ],
      },
    },
  })
  const decideTemp = (line: string) => decideWith(classifyShell(line, 'exec'))

  it('allows a command whose every option and operand the rule covers', () => {
    expect(decideTemp('rm -rf /tmp/build /tmp/cache')).toMatchObject({
      action: 'allow',
      rule: { name: 'tmp-cleanup' },
    })
    expect(decideTemp('rm /tmp')).toMatchObject({ action: 'allow' })
  })

  it('does not allow one operand outside the limit', () => {
    expect(decideTemp('rm -rf /tmp/build /etc')).toMatchObject({ action: 'block', rule: null })
  })

  it('does not allow an option outside the limit', () => {
    expect(decideTemp('rm -rfv /tmp/build')).toMatchObject({ action: 'block', rule: null })
    expect(decideTemp('rm --recursive /tmp/build')).toMatchObject({ action: 'block', rule: null })
  })

  it('checks the resolved path too: /tmp/../etc is not under /tmp', () => {
    expect(decideTemp('rm -rf /tmp/../etc')).toMatchObject({ action: 'block', rule: null })
    expect(decideTemp('cat /var/log/../../etc/shadow')).toMatchObject({
      action: 'block',
      rule: null,
    })
    expect(decideTemp('tail -n 20 /var/log/syslog')).toMatchObject({ action: 'block', rule: null })
    expect(decideTemp('tail /var/log/syslog')).toMatchObject({
      action: 'allow',
      rule: { name: 'logs' },
    })
  })

  it('does not allow operands it cannot see: expansions and xargs input', () => {
    expect(decideTemp('rm -rf "$DIR"')).toMatchObject({ action: 'block', rule: null })
    expect(decideTemp('find /tmp -name x | xargs rm -f')).toMatchObject({ action: 'block' })
    expect(decideTemp('rm -rf /tmp/*')).toMatchObject({ action: 'allow' })
  })

  it('fires a tripwire on any one listed option, including a long-option prefix', () => {
    expect(decideTemp('git push -f origin main')).toMatchObject({ rule: { name: 'no-force-push' } })
    expect(decideTemp('git push --force origin main')).toMatchObject({
      rule: { name: 'no-force-push' },
    })
    expect(decideTemp('git push --for origin main')).toMatchObject({
      rule: { name: 'no-force-push' },
    })
    expect(decideTemp('git push origin main')).toMatchObject({
      action: 'allow',
      rule: { name: 'git' },
    })
  })

  it('matches programs by glob on the basename only, never a dynamic name', () => {
    const decideGlob = decider({
      version: 1,
      connections: {
        web1: {
          grants: ['agent:ops-bot'],
          default: 'block',
          rules: [{ name: 'anything', action: 'allow', match: { programs: ['*'] } }],
        },
      },
    })
    expect(decideGlob(classifyShell('/usr/bin/id', 'exec'))).toMatchObject({ action: 'allow' })
    expect(decideGlob(classifyShell('$CMD -rf /', 'exec'))).toMatchObject({ action: 'block' })
    expect(decideGlob(classifyShell("echo 'x", 'exec'))).toMatchObject({ action: 'block' })
  })

  it('keeps shell rules off HTTP requests and SQL rules off shell commands', () => {
    const mixed = decider({
      version: 1,
      connections: {
        web1: {
          grants: ['agent:ops-bot'],
          default: 'block',
          rules: [
            { name: 'http', action: 'allow', match: { methods: ['GET'] } },
            { name: 'sql-tables', action: 'allow', match: { tables: ['users'] } },
            { name: 'shell', action: 'allow', match: { programs: ['ls'] } },
          ],
        },
      },
    })
    expect(mixed(classifyShell('ls', 'exec'))).toMatchObject({ rule: { name: 'shell' } })
    expect(mixed(classifyShell('cat x', 'exec'))).toMatchObject({ rule: null })
  })
})

describe('shell policy: the document', () => {
  it('accepts shell classes, programs, options and args', () => {
    expect(PolicyDocument.safeParse(SSH_POLICY).success).toBe(true)
    expect(RuleMatch.parse({ classes: ['network', 'code', 'ddl'] })).toEqual({
      classes: ['network', 'code', 'ddl'],
    })
  })

  it('refuses a rule that mixes HTTP fields with shell fields', () => {
    const result = RuleMatch.safeParse({ methods: ['GET'], programs: ['ls'] })
    expect(result.success).toBe(false)
    expect(result.error && describeIssues(result.error)).toEqual([
      {
        path: '',
        message:
          'a rule matches HTTP (methods, paths) or shell (programs, options, args), not both',
      },
    ])
  })

  it('refuses a rule that mixes SQL tables with shell programs', () => {
    const result = RuleMatch.safeParse({ tables: ['users'], args: ['/'] })
    expect(result.error && describeIssues(result.error)).toEqual([
      {
        path: '',
        message:
          'a rule matches SQL (tables, functions) or shell (programs, options, args), not both',
      },
    ])
  })

  it('names a bad program, option or class', () => {
    const result = RuleMatch.safeParse({
      programs: ['/bin/rm'],
      options: ['-r'],
      classes: ['root'],
    })
    expect(result.error && describeIssues(result.error).map((issue) => issue.path)).toEqual([
      'classes[0]',
      'programs[0]',
      'options[0]',
    ])
  })
})

describe('shell commands in approvals', () => {
  it('fingerprints the exact line and its standard input', async () => {
    const line = classifyShell('systemctl restart nginx', 'exec')
    const same = classifyShell('systemctl restart nginx', 'exec')
    const spaced = classifyShell('systemctl  restart nginx', 'exec')
    expect(await commandHash(line)).toBe(await commandHash(same))
    expect(await commandHash(line)).not.toBe(await commandHash(spaced))
    const withInput = { ...line, stdin: { bytes: 3, text: 'abc' } }
    const otherInput = { ...line, stdin: { bytes: 3, text: 'abd' } }
    expect(await commandHash(withInput)).not.toBe(await commandHash(otherInput))
    expect(await commandHash(withInput)).not.toBe(await commandHash(line))
  })

  it('shows the approver the line and each command with its class and wrappers', async () => {
    const html = String(
      await CommandView({ command: classifyShell('sudo rm -rf /tmp/x; ls', 'exec') })
    )
    expect(html).toContain('<h2>Shell command (exec)</h2><pre>sudo rm -rf /tmp/x; ls</pre>')
    expect(html).toContain(
      '<td>1</td><td><code>sudo rm -rf /tmp/x</code></td><td><code>rm</code></td><td>privilege</td><td>yes</td><td>sudo</td>'
    )
    expect(html).toContain(
      '<td>2</td><td><code>ls</code></td><td><code>ls</code></td><td>read</td><td>no</td>'
    )
    expect(String(await CommandView({ command: interactiveShell() }))).toContain(
      '<h2>Interactive shell</h2>'
    )
  })

  it('summarises a line on one line, and a terminal as an interactive shell', () => {
    expect(commandSummary(classifyShell('ls -la\n  /var/log', 'exec'))).toBe('ls -la /var/log')
    expect(commandSummary(interactiveShell())).toBe('interactive shell')
  })
})

describe('policy test endpoint: shell commands', () => {
  const test = (body: Record<string, unknown>) =>
    adminJson<{
      effective: string
      decision: Decision
      command?: ShellCommand
    }>('POST', '/policy/test', {
      as: 'agent:ops-bot',
      connection: 'web1',
      document: SSH_POLICY,
      ...body,
    })

  it('classifies and decides a shell line against a candidate policy', async () => {
    const result = await test({ shell: 'sudo rm -rf /' })
    expect(result.effective).toBe('block')
    expect(result.decision).toMatchObject({ rule: { name: 'no-rm-root' } })
    expect(result.command?.commands).toEqual([
      {
        text: 'sudo rm -rf /',
        program: 'rm',
        args: ['-rf', '/'],
        options: ['r', 'f'],
        operands: ['/'],
        class: 'privilege',
        writes: true,
        via: ['sudo'],
        risks: ['runs as root (sudo)'],
      },
    ])
  })

  it('decides an interactive shell', async () => {
    expect(await test({ interactiveShell: true })).toMatchObject({
      effective: 'require_approval',
      decision: { rule: { name: 'shells' } },
    })
  })

  it('refuses a test that names two commands, or none', async () => {
    const body = {
      as: 'agent:ops-bot',
      connection: 'web1',
      document: SSH_POLICY,
      shell: 'ls',
      request: { method: 'GET', path: '/' },
    }
    const refused = await adminJson<{ error: { code: string } }>('POST', '/policy/test', body, 400)
    expect(refused.error.code).toBe('request.invalid')
    const { shell: _shell, request: _request, ...none } = body
    await adminJson('POST', '/policy/test', none, 400)
  })
})
