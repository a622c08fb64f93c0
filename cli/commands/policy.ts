/**
 * `gatehouse policy apply|get|versions|test|validate`: policy as code. `apply` sends the
 * file as written (YAML keeps its comments), `validate` checks it offline with the
 * gateway's own schema, `test` asks which rule would fire for an HTTP request, SQL or a
 * shell command line without running it.
 */
import type { Command } from 'commander'
import { stringify as toYaml } from 'yaml'
import { contextOf } from '../context.ts'
import {
  CliError,
  formatTime,
  note,
  print,
  printJson,
  printRaw,
  printTable,
  usageError,
} from '../output.ts'
import { CONTENT_TYPES, parsePolicyFile, readPolicyFile, validatePolicy } from '../policy-file.ts'

type CurrentPolicy = {
  version: number
  sha256: string | null
  appliedBy?: string
  appliedAt?: number
  comment?: string
  document: unknown
}

type PolicyVersionRow = CurrentPolicy & { source: string; format: 'json' | 'yaml' }

type AppliedPolicy = { version: number; sha256: string; warnings: string[] }

type PolicyAction = 'allow' | 'block' | 'require_approval'

type PolicyTestResult = {
  policyVersion: number
  principals: string[]
  granted: boolean
  effective: PolicyAction | 'not_granted'
  decision: {
    action: PolicyAction
    rule: { index: number; name: string } | null
    reason: string
    /** Policy subjects whose members may approve, for require_approval. */
    approvers?: string[]
    /** The rule's `expiresAfter`; absent: the gateway's APPROVAL_TTL_SECONDS. */
    expiresAfterSeconds?: number
    /** For several statements or simple commands: what each alone would get. */
    statements?: { index: number; action: PolicyAction; rule: string | null }[]
  }
  /** SQL and shell commands as the gateway classified them. */
  command?: {
    kind: 'sql' | 'shell'
    statements?: { text: string; class: string; risks: string[] }[]
    commands?: { text: string; program: string; class: string; via: string[]; risks: string[] }[]
  }
}

type TestOptions = {
  connection: string
  as: string
  email?: string
  idpGroup: string[]
  method?: string
  path?: string
  sql?: string
  shell?: string
  interactiveShell?: boolean
  file?: string
}

/** Adds `policy apply|get|versions|test|validate`. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('apply, inspect and test the policy')

  policy
    .command('apply')
    .description('apply a policy document (YAML or JSON) as the next version')
    .requiredOption('-f, --file <path>', 'the policy file')
    .option('--if-match <version>', 'only apply if this version is still in force')
    .option('--comment <text>', 'why, kept with the version')
    .action(
      async (options: { file: string; ifMatch?: string; comment?: string }, command: Command) => {
        const { client, json } = contextOf(command)
        if (options.ifMatch !== undefined && !/^\d+$/.test(options.ifMatch)) {
          throw usageError(`--if-match must be a policy version number (got "${options.ifMatch}")`)
        }
        // It travels in an HTTP header, which carries Latin-1 only.
        if (
          options.comment !== undefined &&
          !/^[\u0020-\u007e\u00a0-\u00ff]*$/.test(options.comment)
        ) {
          throw usageError(
            '--comment must be one line of Latin-1 text (it is sent as an HTTP header)'
          )
        }
        const file = await readPolicyFile(options.file)
        const applied = await client.json<AppliedPolicy>('PUT', '/v1/admin/policy', {
          body: file.source,
          contentType: CONTENT_TYPES[file.format],
          headers: {
            'if-match': options.ifMatch === undefined ? undefined : `"${options.ifMatch}"`,
            'x-gatehouse-comment': options.comment,
          },
        })
        if (json) return printJson(applied)
        print(
          `Applied ${file.path} as policy version ${applied.version} (sha256 ${short(applied.sha256)}).`
        )
        for (const warning of applied.warnings) note(`warning: ${warning}`)
      }
    )

  policy
    .command('get')
    .description('print the policy in force (or an earlier version)')
    .option('--yaml', 'print the source text exactly as it was applied')
    .option('--version <n>', 'an earlier version instead of the one in force')
    .action(async (options: { yaml?: boolean; version?: string }, command: Command) => {
      const { client, json } = contextOf(command)
      if (options.version !== undefined && !/^\d+$/.test(options.version)) {
        throw usageError(`--version must be a number (got "${options.version}")`)
      }
      if (options.version !== undefined) {
        const row = await client.json<PolicyVersionRow>(
          'GET',
          `/v1/admin/policy/versions/${options.version}`
        )
        if (options.yaml) return printRaw(row.source)
        if (json) return printJson(row)
        return printPolicy(row)
      }
      if (options.yaml) {
        const response = await client.raw('GET', '/v1/admin/policy', {
          accept: 'application/yaml',
        })
        // Before any apply there is no source text, only the empty policy as JSON.
        if (!response.contentType.includes('yaml')) {
          const empty = JSON.parse(response.text) as CurrentPolicy
          return printRaw(toYaml(empty.document))
        }
        return printRaw(response.text)
      }
      const current = await client.json<CurrentPolicy>('GET', '/v1/admin/policy')
      if (json) return printJson(current)
      printPolicy(current)
    })

  policy
    .command('versions')
    .description('list applied policy versions, newest first')
    .action(async (_options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const { versions } = await client.json<{ versions: Omit<CurrentPolicy, 'document'>[] }>(
        'GET',
        '/v1/admin/policy/versions'
      )
      if (json) return printJson({ versions })
      if (versions.length === 0) return print('No policy applied yet: nobody may reach anything.')
      printTable(versions, [
        { header: 'VERSION', value: (row) => String(row.version) },
        { header: 'APPLIED', value: (row) => formatTime(row.appliedAt) },
        { header: 'BY', value: (row) => row.appliedBy ?? '-' },
        { header: 'SHA256', value: (row) => short(row.sha256) },
        { header: 'COMMENT', value: (row) => row.comment ?? '' },
      ])
    })

  policy
    .command('test')
    .description('say which rule would decide a request, without sending it')
    .requiredOption('--connection <name>', 'the connection the request would use')
    .requiredOption('--as <principal>', 'agent:<name> or user:<subject>')
    .option('--email <email>', "the user's e-mail claim, for user: callers")
    .option('--idp-group <group>', 'an IdP group of the caller (repeatable)', collect, [])
    .option('--method <method>', 'HTTP method, e.g. GET (with --path)')
    .option('--path <path>', 'path under the connection, e.g. /orders/7 (with --method)')
    .option('--sql <sql>', 'SQL, e.g. "DELETE FROM orders"')
    .option('--shell <line>', "a shell command line, e.g. 'rm -rf /tmp/x'")
    .option('--interactive-shell', 'an interactive terminal (ssh without a command)')
    .option('-f, --file <path>', 'test this candidate document instead of the policy in force')
    .action(async (options: TestOptions, command: Command) => {
      const { client, json } = contextOf(command)
      const { what, body } = testedCommand(options)
      let document: unknown
      if (options.file) document = parsePolicyFile(await readPolicyFile(options.file))
      const result = await client.json<PolicyTestResult>('POST', '/v1/admin/policy/test', {
        json: {
          as: options.as,
          ...(options.email ? { email: options.email } : {}),
          idpGroups: options.idpGroup,
          connection: options.connection,
          ...body,
          ...(document === undefined ? {} : { document }),
        },
      })
      if (json) return printJson(result)
      const source = options.file ? `candidate ${options.file}` : `policy v${result.policyVersion}`
      const { decision } = result
      const rule = decision.rule
        ? `rule #${decision.rule.index} "${decision.rule.name}"`
        : 'connection default (no rule matched)'
      print(`${result.effective}  ${what} on ${options.connection} as ${options.as}`)
      printClassified(result)
      if (result.granted) {
        print(`rule:       ${rule} (${source})`)
        print(`reason:     ${decision.reason}`)
      } else {
        print(
          `reason:     ${options.as} is not granted connection "${options.connection}" (${source})`
        )
        print(`if granted: ${decision.action} by ${rule}`)
      }
      if (decision.action === 'require_approval') {
        print(`approvers:  ${decision.approvers?.join(', ') || '(none)'}`)
        print(
          `expires:    ${
            decision.expiresAfterSeconds === undefined
              ? "after the gateway's default (APPROVAL_TTL_SECONDS)"
              : `after ${formatDuration(decision.expiresAfterSeconds)} without a decision`
          }`
        )
      }
      print(`principals: ${result.principals.join(', ') || '(none)'}`)
    })

  policy
    .command('validate')
    .description('check a policy file offline with the gateway schema (exit 1 if invalid)')
    .requiredOption('-f, --file <path>', 'the policy file')
    .action(async (options: { file: string }, command: Command) => {
      const { json } = contextOf(command)
      const file = await readPolicyFile(options.file)
      const result = validatePolicy(parsePolicyFile(file))
      if (json) {
        printJson(result.ok ? { valid: true } : { valid: false, issues: result.issues })
        if (!result.ok) process.exitCode = 1
        return
      }
      if (!result.ok) {
        throw new CliError('policy.invalid', `${file.path} is not a valid policy`, {
          issues: result.issues,
        })
      }
      const connections = Object.keys(result.document.connections)
      print(
        `${file.path} is a valid policy: ${Object.keys(result.document.groups).length} group(s), ` +
          `${connections.length} connection(s)${connections.length ? ` (${connections.join(', ')})` : ''}.`
      )
    })
}

/** The command a `policy test` describes: exactly one of a request, SQL or a shell line. */
function testedCommand(options: TestOptions): { what: string; body: Record<string, unknown> } {
  const given = [
    options.method !== undefined || options.path !== undefined,
    options.sql !== undefined,
    options.shell !== undefined,
    options.interactiveShell === true,
  ].filter(Boolean).length
  if (given !== 1) {
    throw usageError('give one command: --method and --path, --sql, --shell or --interactive-shell')
  }
  if (options.sql !== undefined)
    return { what: `SQL ${oneLine(options.sql)}`, body: { sql: options.sql } }
  if (options.shell !== undefined)
    return { what: `shell ${oneLine(options.shell)}`, body: { shell: options.shell } }
  if (options.interactiveShell)
    return { what: 'interactive shell', body: { interactiveShell: true } }
  if (options.method === undefined || options.path === undefined)
    throw usageError('--method and --path go together')
  return {
    what: `${options.method.toUpperCase()} ${options.path}`,
    body: { request: { method: options.method, path: options.path } },
  }
}

/** Each SQL statement or simple shell command, with its class and what it alone would get. */
function printClassified(result: PolicyTestResult): void {
  const units: { text: string; class: string; via?: string[]; risks: string[] }[] | undefined =
    result.command?.statements ?? result.command?.commands
  if (!units || units.length === 0) return
  const each = result.decision.statements
  for (const [index, unit] of units.entries()) {
    const alone = each?.find((entry) => entry.index === index)
    const verdict = alone ? `  ${alone.action}${alone.rule ? ` (rule "${alone.rule}")` : ''}` : ''
    const through = unit.via?.length ? ` via ${unit.via.join(' → ')}` : ''
    const risks = unit.risks.length ? ` [${unit.risks.join('; ')}]` : ''
    print(`  ${index + 1}. ${unit.class}${through}: ${oneLine(unit.text)}${risks}${verdict}`)
  }
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 120 ? `${line.slice(0, 119)}…` : line
}

function printPolicy(policy: CurrentPolicy): void {
  if (policy.version === 0) {
    note('No policy applied yet: nobody may reach anything.')
  } else {
    note(
      `# policy version ${policy.version}, sha256 ${short(policy.sha256)}, applied by ` +
        `${policy.appliedBy ?? '?'} at ${formatTime(policy.appliedAt)}` +
        (policy.comment ? ` (${policy.comment})` : '')
    )
  }
  printRaw(toYaml(policy.document))
}

/** Seconds as the policy writes them: `15m`, `2h`, `90s`. */
function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`
  if (seconds % 60 === 0) return `${seconds / 60}m`
  return `${seconds}s`
}

function short(sha256: string | null | undefined): string {
  return sha256 ? sha256.slice(0, 12) : '-'
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}
