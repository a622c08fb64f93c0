/**
 * /v1/admin/policy: policy as code. PUT applies a whole document (JSON or YAML)
 * atomically or not at all; GET returns the one in force; /test says which rule would
 * fire for a caller and a command (an HTTP request, SQL or a shell command line), against
 * the live policy or a candidate document.
 */
import { Hono } from 'hono'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import { listConnections } from '../connections/store.ts'
import { GatehouseError } from '../errors.ts'
import type { Caller, Command } from '../pipeline/types.ts'
import { type CompiledPolicy, compilePolicy } from '../policy/compile.ts'
import { decide, isGranted } from '../policy/decide.ts'
import { ConnectionName, PolicyDocument } from '../policy/document.ts'
import { principalsOf } from '../policy/principals.ts'
import { classifyShell, interactiveShell, MAX_SHELL_CHARS } from '../policy/shell/index.ts'
import { classifySql, MAX_SQL_CHARS } from '../policy/sql/index.ts'
import { applyPolicy, currentPolicy, listPolicyVersions, policyVersion } from '../policy/store.ts'
import { canonicalizePath } from '../protocols/http/canonical-path.ts'
import { recordAdminAction } from './audit.ts'
import { parseWith, readJson } from './body.ts'

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'])

export const policyRoutes = new Hono<AppEnv>()

policyRoutes.get('/', async (c) => {
  const row = await policyVersion(c.var.gateway.db)
  if (!row) {
    return c.json({
      version: 0,
      sha256: null,
      document: { version: 1, groups: {}, connections: {} },
    })
  }
  c.header('etag', `"${row.version}"`)
  if (/\b(application|text)\/(x-)?yaml\b/i.test(c.req.header('accept') ?? '')) {
    // YAML keeps its comments as applied; a JSON source is rendered as YAML.
    const yaml = row.format === 'yaml' ? row.source : stringifyYaml(JSON.parse(row.source))
    return c.body(yaml, 200, { 'content-type': 'application/yaml; charset=utf-8' })
  }
  return c.json({
    version: row.version,
    sha256: row.sha256,
    appliedBy: row.appliedBy,
    appliedAt: row.appliedAt,
    comment: row.comment,
    document: row.document,
  })
})

policyRoutes.put('/', async (c) => {
  const { gateway, caller } = c.var
  const { source, format, value } = await readPolicySource(c.req.raw)
  const document = parseWith(
    PolicyDocument,
    value,
    'policy.invalid',
    'The policy document is invalid'
  )
  const applied = await applyPolicy(
    gateway.db,
    {
      document,
      source,
      format,
      appliedBy: caller.id,
      comment: c.req.header('x-gatehouse-comment') ?? '',
      expectedVersion: parseIfMatch(c.req.header('if-match')),
    },
    gateway.now()
  )
  const warnings = await policyWarnings(gateway.db, document)
  recordAdminAction(gateway, caller, c.req.raw, 'policy.apply', { ...applied, warnings })
  c.header('etag', `"${applied.version}"`)
  return c.json({ ...applied, warnings })
})

policyRoutes.get('/versions', async (c) => {
  return c.json({ versions: await listPolicyVersions(c.var.gateway.db, 100) })
})

policyRoutes.get('/versions/:version', async (c) => {
  const version = Number(c.req.param('version'))
  const row = Number.isSafeInteger(version)
    ? await policyVersion(c.var.gateway.db, version)
    : undefined
  if (!row)
    throw new GatehouseError('resource.not_found', `No policy version ${c.req.param('version')}.`)
  return c.json(row)
})

export const PolicyTestRequest = z
  .object({
    /** Who is asking: `agent:<name>` or `user:<subject>`. */
    as: z.string().regex(/^(agent|user):\S+$/, 'must be agent:<name> or user:<subject>'),
    email: z.string().optional(),
    idpGroups: z.array(z.string()).default([]),
    connection: ConnectionName,
    /** The command, one of: an HTTP request, SQL, a shell command line, or a terminal. */
    request: z
      .object({ method: z.string().min(1), path: z.string().startsWith('/') })
      .strict()
      .optional(),
    sql: z.string().min(1).max(MAX_SQL_CHARS).optional(),
    shell: z.string().max(MAX_SHELL_CHARS).optional(),
    interactiveShell: z.literal(true).optional(),
    /** A candidate document to test instead of the one in force. */
    document: z.unknown().optional(),
  })
  .strict()
  .refine(
    (input) =>
      [input.request, input.sql, input.shell, input.interactiveShell].filter(
        (command) => command !== undefined
      ).length === 1,
    { message: 'give exactly one of request, sql, shell or interactiveShell' }
  )

policyRoutes.post('/test', async (c) => {
  const { gateway } = c.var
  const input = await readJson(c.req.raw, PolicyTestRequest)
  const policy: CompiledPolicy =
    input.document === undefined
      ? await currentPolicy(gateway.db)
      : compilePolicy(
          parseWith(
            PolicyDocument,
            input.document,
            'policy.invalid',
            'The candidate policy is invalid'
          ),
          0,
          'candidate'
        )
  const [kind, ...nameParts] = input.as.split(':')
  const name = nameParts.join(':')
  const caller: Caller = {
    id: input.as,
    name,
    via: kind === 'agent' ? 'agent_token' : 'oidc',
    ...(input.email ? { email: input.email } : {}),
    idpGroups: input.idpGroups,
    scope: ['*'],
  }
  const principals = principalsOf(caller, policy)
  const granted = isGranted(policy, principals, input.connection)
  const command = await testCommand(input)
  const decision = decide(policy, principals, input.connection, command)
  return c.json({
    policyVersion: policy.version,
    principals: [...principals],
    granted,
    /** What would happen: the decision, or `not_granted` when the caller cannot use the connection. */
    effective: granted ? decision.action : 'not_granted',
    decision,
    /** SQL and shell commands as classified: what each statement or simple command is. */
    ...(command.kind === 'http' ? {} : { command }),
  })
})

/** The command a policy test describes, classified as the gateway would classify it. */
async function testCommand(input: z.infer<typeof PolicyTestRequest>): Promise<Command> {
  if (input.shell !== undefined) return classifyShell(input.shell, 'api')
  if (input.interactiveShell) return interactiveShell()
  if (input.sql !== undefined) {
    const { statements } = await classifySql(input.sql)
    return { kind: 'sql', text: input.sql, statements, via: 'api' }
  }
  const { request } = input
  if (!request) throw new GatehouseError('request.invalid', 'Give a request, sql or shell.')
  return {
    kind: 'http',
    method: request.method.toUpperCase(),
    path: canonicalizePath(request.path).decoded,
    query: '',
    headers: {},
    body: null,
  }
}

async function readPolicySource(
  request: Request
): Promise<{ source: string; format: 'json' | 'yaml'; value: unknown }> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const source = await request.text()
  if (type === 'application/json') {
    try {
      return { source, format: 'json', value: JSON.parse(source) }
    } catch (error) {
      throw new GatehouseError('policy.invalid', `The policy is not valid JSON: ${String(error)}`)
    }
  }
  if (YAML_TYPES.has(type)) {
    try {
      return {
        source,
        format: 'yaml',
        value: parseYaml(source, { uniqueKeys: true, prettyErrors: true }),
      }
    } catch (error) {
      throw new GatehouseError(
        'policy.invalid',
        `The policy is not valid YAML: ${error instanceof Error ? error.message : String(error)}`
      )
    }
  }
  throw new GatehouseError(
    'request.unsupported_media_type',
    'Send the policy as application/json or application/yaml.'
  )
}

function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined
  const match = /^"?(\d+)"?$/.exec(header.trim())
  if (!match?.[1]) {
    throw new GatehouseError('request.invalid', 'If-Match must be a policy version, e.g. "3".')
  }
  return Number(match[1])
}

/** Things worth telling the person applying the policy, which do not make it invalid. */
async function policyWarnings(
  db: Parameters<typeof listConnections>[0],
  document: PolicyDocument
): Promise<string[]> {
  const registered = new Set((await listConnections(db)).map((row) => row.name))
  const warnings: string[] = []
  for (const name of Object.keys(document.connections)) {
    if (!registered.has(name)) warnings.push(`connection "${name}" is not registered yet`)
  }
  for (const name of registered) {
    if (!(name in document.connections)) {
      warnings.push(`connection "${name}" has no policy, so nobody can use it`)
    }
  }
  return warnings
}
