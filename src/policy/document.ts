/**
 * The policy document: who may reach which connection, and the ordered rules that decide
 * each command. One document is in force at a time; it is applied whole (policy as code).
 * Unknown keys are errors, so a typo cannot silently widen access.
 */
import { z } from 'zod'
import { MaskingPolicy } from './masking-policy.ts'
import { Subject } from './subject.ts'

export { Subject }

/** Connection names are also URL path segments (`/proxy/<name>/…`). */
export const CONNECTION_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/
export const ConnectionName = z
  .string()
  .regex(CONNECTION_NAME, 'must be 1-63 lowercase letters, digits, ".", "_" or "-"')

const GroupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"')

const Member = Subject.refine((subject) => !subject.startsWith('group:'), {
  message: 'groups cannot contain groups; list user:, agent: or idp: members',
})

const HttpMethod = z
  .string()
  .regex(/^[A-Za-z]+$/, 'must be an HTTP method such as GET or DELETE')
  .transform((method) => method.toUpperCase())

const PathGlob = z
  .string()
  .startsWith('/', 'must start with "/"')
  .max(1024)
  .refine((glob) => !/(^|\/)\*\*[^/]|[^/]\*\*/.test(glob), {
    message: '"**" must be a whole path segment, as in /admin/**',
  })

/** `90s`, `15m`, `2h`: how long an approval may wait for a decision (at most 24 h). */
const MAX_APPROVAL_SECONDS = 24 * 60 * 60
const DURATION_UNITS = { s: 1, m: 60, h: 3600 } as const

/** Seconds in a duration the schema accepted. */
export function durationSeconds(duration: string): number {
  const unit = duration.slice(-1) as keyof typeof DURATION_UNITS
  return Number(duration.slice(0, -1)) * DURATION_UNITS[unit]
}

// Kept as written (not turned into seconds) so a stored document parses again unchanged.
export const Duration = z
  .string()
  .regex(/^[1-9][0-9]{0,5}(s|m|h)$/, 'must be a duration such as 90s, 15m or 2h')
  .refine((value) => durationSeconds(value) <= MAX_APPROVAL_SECONDS, {
    message: 'must be at most 24h',
  })

/** Who decides a held command, and how long it may wait. */
const ApprovalSettings = z
  .object({
    /** Policy subjects whose members may approve or deny. */
    approvers: z.array(Subject).min(1).optional(),
    /** After this the request expires (denied); default APPROVAL_TTL_SECONDS. */
    expiresAfter: Duration.optional(),
  })
  .strict()

export const PolicyAction = z.enum(['allow', 'block', 'require_approval'])

export const SqlClass = z.enum([
  'read',
  'write',
  'ddl',
  'privilege',
  'admin',
  'transaction',
  'session',
  'copy',
  'utility',
  'unknown',
])

/** What a simple shell command does (see policy/shell/classes.ts). */
export const ShellClass = z.enum([
  'read',
  'write',
  'process',
  'network',
  'privilege',
  'admin',
  'code',
  'interactive',
  'unknown',
])

/**
 * Classes a rule may name: SQL's and the shell's in one set. A connection has one kind, so
 * `write` means SQL writes on a database and shell writes on an ssh connection.
 */
export const CommandClass = z.enum([
  ...SqlClass.options,
  'process',
  'network',
  'code',
  'interactive',
])

/** `rm`, `mkfs*`: a program's basename, `*` as wildcard (see policy/shell-patterns.ts). */
const ProgramPattern = z
  .string()
  .regex(/^[^\s/]{1,100}$/, 'must be a program name without "/" (such as rm or mkfs*)')

/** `r`, `recursive`: as the command writes it after its dashes. */
const OptionName = z
  .string()
  .regex(
    /^[A-Za-z0-9?][A-Za-z0-9_.-]{0,63}$/,
    'must be an option name without dashes (such as r or recursive)'
  )

/** `/`, `/etc/**`, `*.conf`, `restart`: globs on a command's operands. */
const ArgPattern = z.string().min(1).max(1024)

/** `users`, `public.users`, `pg_catalog.*`, `dblink*` (see policy/sql-names.ts). */
const SqlNamePattern = z
  .string()
  .regex(/^[A-Za-z0-9_$*]+(\.[A-Za-z0-9_$*]+)?$/, 'must be name, schema.name, with * as wildcard')

export const RuleMatch = z
  .object({
    /** HTTP methods; omitted means any. */
    methods: z.array(HttpMethod).min(1).optional(),
    /** Path globs: `*` stays within a segment, `**` spans any number of segments. */
    paths: z.array(PathGlob).min(1).optional(),
    /**
     * Classes: of a SQL statement (read, write, ddl, privilege, admin, …) or of a simple
     * shell command (read, write, process, network, privilege, admin, code, interactive, …).
     */
    classes: z.array(CommandClass).min(1).optional(),
    /**
     * Tables a statement references. An allow rule needs every referenced table to match
     * (a limit); block and require_approval need one (a tripwire).
     */
    tables: z.array(SqlNamePattern).min(1).optional(),
    /** Functions a statement calls, with the same any/every rule as tables. */
    functions: z.array(SqlNamePattern).min(1).optional(),
    /** Shell programs (basenames, `*` as wildcard): `rm`, `mkfs*`. */
    programs: z.array(ProgramPattern).min(1).optional(),
    /**
     * Shell options, without dashes (`r`, `recursive`). Block and require_approval need the
     * command to use one (a tripwire); an allow rule needs every option it uses listed.
     */
    options: z.array(OptionName).min(1).optional(),
    /** Globs on shell operands (`/`, `/etc/**`, `restart`), with the same any/every rule. */
    args: z.array(ArgPattern).min(1).optional(),
  })
  .strict()
  .refine(
    (match) =>
      !(match.methods || match.paths) || !(match.classes || match.tables || match.functions),
    {
      message: 'a rule matches HTTP (methods, paths) or SQL (classes, tables, functions), not both',
    }
  )
  .refine(
    (match) => !(match.methods || match.paths) || !(match.programs || match.options || match.args),
    {
      message: 'a rule matches HTTP (methods, paths) or shell (programs, options, args), not both',
    }
  )
  .refine(
    (match) =>
      !(match.tables || match.functions) || !(match.programs || match.options || match.args),
    {
      message:
        'a rule matches SQL (tables, functions) or shell (programs, options, args), not both',
    }
  )
export type RuleMatch = z.infer<typeof RuleMatch>

export const Rule = z
  .object({
    name: z.string().min(1).max(100),
    action: PolicyAction,
    /** Who the rule applies to; omitted means every caller granted the connection. */
    who: z.array(Subject).min(1).optional(),
    /** What the rule applies to; omitted or empty means every command. */
    match: RuleMatch.optional(),
    /** Shown to the caller when the rule blocks or holds a command. */
    reason: z.string().max(500).optional(),
    /** Who may approve, for `require_approval` (else the connection's `approval.approvers`). */
    approvers: z.array(Subject).min(1).optional(),
    /** How long a held command waits, for `require_approval` (e.g. `15m`). */
    expiresAfter: Duration.optional(),
  })
  .strict()
  .refine((rule) => rule.approvers === undefined || rule.action === 'require_approval', {
    message: 'approvers only apply to require_approval rules',
    path: ['approvers'],
  })
  .refine((rule) => rule.expiresAfter === undefined || rule.action === 'require_approval', {
    message: 'expiresAfter only applies to require_approval rules',
    path: ['expiresAfter'],
  })
export type Rule = z.infer<typeof Rule>

export const ConnectionPolicy = z
  .object({
    /** Who may use the connection at all. Nobody is granted by default. */
    grants: z.array(Subject).default([]),
    /** What happens when no rule matches. */
    default: PolicyAction.default('block'),
    /** Match path globs with letter case (off: `/ADMIN` matches `/admin/**`). */
    caseSensitivePaths: z.boolean().default(false),
    /** Evaluated in order; the first matching rule decides. */
    rules: z.array(Rule).default([]),
    /** Approvers and expiry for this connection's require_approval rules (and default). */
    approval: ApprovalSettings.optional(),
    /** What is masked in responses and transcripts (columns, JSON paths, detectors). */
    masking: MaskingPolicy.optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    // An approval nobody may give is a block in disguise: say so when the policy is applied.
    const fallback = policy.approval?.approvers
    if (policy.default === 'require_approval' && !fallback) {
      ctx.addIssue({
        code: 'custom',
        message: 'a require_approval default needs approval.approvers',
        path: ['approval'],
      })
    }
    const seen = new Set<string>()
    for (const [index, rule] of policy.rules.entries()) {
      if (rule.action === 'require_approval' && !rule.approvers && !fallback) {
        ctx.addIssue({
          code: 'custom',
          message:
            "a require_approval rule needs approvers (here or in the connection's approval.approvers)",
          path: ['rules', index, 'approvers'],
        })
      }
      if (seen.has(rule.name)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate rule name "${rule.name}"`,
          path: ['rules', index, 'name'],
        })
      }
      seen.add(rule.name)
    }
  })
export type ConnectionPolicy = z.infer<typeof ConnectionPolicy>

export const PolicyDocument = z
  .object({
    version: z.literal(1),
    /** Gatehouse groups and their members. */
    groups: z.record(GroupName, z.object({ members: z.array(Member) }).strict()).default({}),
    /** Per-connection grants and rules, keyed by connection name. */
    connections: z.record(ConnectionName, ConnectionPolicy).default({}),
    /** Slack user ids (as Slack's buttons report them) and who they are here: `user:<e-mail>`. */
    slackUsers: z
      .record(
        z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user id such as U024BE7LH'),
        Subject.refine((subject) => subject.startsWith('user:'), {
          message: 'must be user:<subject or e-mail>',
        })
      )
      .default({}),
  })
  .strict()
  .superRefine((document, ctx) => {
    const defined = new Set(Object.keys(document.groups))
    const check = (subjects: readonly string[] | undefined, path: (string | number)[]) => {
      for (const [index, subject] of (subjects ?? []).entries()) {
        const group = subject.startsWith('group:') ? subject.slice('group:'.length) : null
        if (group !== null && !defined.has(group)) {
          ctx.addIssue({
            code: 'custom',
            message: `group "${group}" is not defined under groups`,
            path: [...path, index],
          })
        }
      }
    }
    for (const [name, connection] of Object.entries(document.connections)) {
      check(connection.grants, ['connections', name, 'grants'])
      check(connection.approval?.approvers, ['connections', name, 'approval', 'approvers'])
      const masking = connection.masking
      check(masking?.exempt, ['connections', name, 'masking', 'exempt'])
      for (const section of ['columns', 'paths', 'detectors'] as const) {
        for (const [key, rule] of Object.entries(masking?.[section] ?? {})) {
          if (typeof rule === 'object')
            check(rule.exempt, ['connections', name, 'masking', section, key, 'exempt'])
        }
      }
      for (const [index, rule] of connection.rules.entries()) {
        check(rule.who, ['connections', name, 'rules', index, 'who'])
        check(rule.approvers, ['connections', name, 'rules', index, 'approvers'])
      }
    }
  })
export type PolicyDocument = z.infer<typeof PolicyDocument>
export type PolicyDocumentInput = z.input<typeof PolicyDocument>

/** The policy in force before any document is applied: nobody may reach anything. */
export const EMPTY_POLICY: PolicyDocument = {
  version: 1,
  groups: {},
  connections: {},
  slackUsers: {},
}

export type PolicyIssue = { path: string; message: string }

/** Zod issues as `connections.api.rules[2].match.paths[0]: must start with "/"`. */
export function describeIssues(error: z.ZodError): PolicyIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path
      .map((part, index) =>
        typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`
      )
      .join(''),
    message: issue.message,
  }))
}
