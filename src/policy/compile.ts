/**
 * Compiles a validated policy document once per version into lookup structures, so
 * deciding a command is set lookups and precompiled regexes, nothing parsed per request.
 */
import type { PolicyAction } from '../pipeline/types.ts'
import { durationSeconds, type PolicyDocument } from './document.ts'
import { compilePathGlob } from './glob.ts'
import { type ArgPattern, compileArgPattern, compileProgramPattern } from './shell-patterns.ts'
import { compileNamePattern, type NamePattern } from './sql-names.ts'

export type CompiledRule = {
  index: number
  name: string
  action: PolicyAction
  reason: string | undefined
  who: ReadonlySet<string> | undefined
  methods: ReadonlySet<string> | undefined
  paths: readonly RegExp[] | undefined
  classes: ReadonlySet<string> | undefined
  tables: readonly NamePattern[] | undefined
  functions: readonly NamePattern[] | undefined
  programs: readonly RegExp[] | undefined
  options: ReadonlySet<string> | undefined
  args: readonly ArgPattern[] | undefined
  /** For require_approval: the rule's approvers, else the connection's. */
  approvers: readonly string[] | undefined
  expiresAfterSeconds: number | undefined
}

export type CompiledConnectionPolicy = {
  grants: ReadonlySet<string>
  defaultAction: PolicyAction
  /** The connection's approval settings, for its default and rules that set none. */
  approval: { approvers: readonly string[] | undefined; expiresAfterSeconds: number | undefined }
  rules: readonly CompiledRule[]
}

export type CompiledPolicy = {
  version: number
  sha256: string
  document: PolicyDocument
  /** For each member reference (`user:…`, `agent:…`, `idp:…`), the `group:…` names it belongs to. */
  memberships: ReadonlyMap<string, readonly string[]>
  connections: ReadonlyMap<string, CompiledConnectionPolicy>
}

export function compilePolicy(
  document: PolicyDocument,
  version: number,
  sha256: string
): CompiledPolicy {
  const memberships = new Map<string, string[]>()
  for (const [group, { members }] of Object.entries(document.groups)) {
    for (const member of members) {
      const groups = memberships.get(member) ?? []
      groups.push(`group:${group}`)
      memberships.set(member, groups)
    }
  }
  const connections = new Map<string, CompiledConnectionPolicy>()
  for (const [name, policy] of Object.entries(document.connections)) {
    connections.set(name, {
      grants: new Set(policy.grants),
      defaultAction: policy.default,
      approval: {
        approvers: policy.approval?.approvers,
        expiresAfterSeconds: seconds(policy.approval?.expiresAfter),
      },
      rules: policy.rules.map((rule, index) => ({
        index,
        name: rule.name,
        action: rule.action,
        reason: rule.reason,
        who: rule.who ? new Set(rule.who) : undefined,
        methods: rule.match?.methods ? new Set(rule.match.methods) : undefined,
        paths: rule.match?.paths?.map((glob) =>
          compilePathGlob(glob, { caseSensitive: policy.caseSensitivePaths })
        ),
        classes: rule.match?.classes ? new Set(rule.match.classes) : undefined,
        tables: rule.match?.tables?.map(compileNamePattern),
        functions: rule.match?.functions?.map(compileNamePattern),
        programs: rule.match?.programs?.map(compileProgramPattern),
        options: rule.match?.options ? new Set(rule.match.options) : undefined,
        args: rule.match?.args?.map(compileArgPattern),
        approvers:
          rule.action === 'require_approval'
            ? (rule.approvers ?? policy.approval?.approvers)
            : undefined,
        expiresAfterSeconds:
          rule.action === 'require_approval'
            ? seconds(rule.expiresAfter ?? policy.approval?.expiresAfter)
            : undefined,
      })),
    })
  }
  return { version, sha256, document, memberships, connections }
}

function seconds(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : durationSeconds(duration)
}
