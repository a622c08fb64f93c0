/**
 * Reading policy files from disk: YAML or JSON by extension (or by content when the
 * extension says neither), parsed the way the gateway parses them, and validated offline
 * with the gateway's own schema (src/policy/document.ts), so `validate` and `apply` agree.
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { describeIssues, PolicyDocument } from '../src/policy/document.ts'
import { CliError, type Issue } from './output.ts'

export type PolicyFormat = 'json' | 'yaml'

export type PolicyFile = { path: string; source: string; format: PolicyFormat }

export const CONTENT_TYPES: Record<PolicyFormat, string> = {
  json: 'application/json',
  yaml: 'application/yaml',
}

export async function readPolicyFile(path: string): Promise<PolicyFile> {
  let source: string
  try {
    source = await readFile(path, 'utf8')
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error)
    throw new CliError('cli.file_unreadable', `Cannot read ${path} (${reason}).`)
  }
  return { path, source, format: formatOf(path, source) }
}

function formatOf(path: string, source: string): PolicyFormat {
  const extension = extname(path).toLowerCase()
  if (extension === '.json') return 'json'
  if (extension === '.yaml' || extension === '.yml') return 'yaml'
  return source.trimStart().startsWith('{') ? 'json' : 'yaml'
}

/** The file's value, parsed with the same options as the gateway (duplicate keys are errors). */
export function parsePolicyFile(file: PolicyFile): unknown {
  try {
    return file.format === 'json'
      ? JSON.parse(file.source)
      : parseYaml(file.source, { uniqueKeys: true, prettyErrors: true })
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new CliError(
      'policy.invalid',
      `${file.path} is not valid ${file.format.toUpperCase()}: ${reason}`
    )
  }
}

export type Validation = { ok: true; document: PolicyDocument } | { ok: false; issues: Issue[] }

/** Validates a parsed value with the gateway's schema, offline. */
export function validatePolicy(value: unknown): Validation {
  const result = PolicyDocument.safeParse(value)
  return result.success
    ? { ok: true, document: result.data }
    : { ok: false, issues: describeIssues(result.error) }
}
