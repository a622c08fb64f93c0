/**
 * What the e2e setup shares when it registers a protocol's connections: an admin API
 * client, a policy fixture's groups and connections (checked to appear unchanged in
 * policy-with-reports.yaml, which the policy tests apply mid-run), and merging them into
 * the document in force, applied whole so the other sections stay as they are.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'

/** Applied mid-run by the policy tests; must keep every fixture's sections unchanged. */
const POLICY_WITH_REPORTS = fileURLToPath(
  new URL('../fixtures/policy-with-reports.yaml', import.meta.url)
)

export type PolicySections = {
  groups: Record<string, unknown>
  connections: Record<string, unknown>
}

export type AdminCall = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>
) => Promise<unknown>

export function adminClient(gatewayUrl: string, adminToken: string): AdminCall {
  return async (method, path, body, headers = {}) => {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
    return JSON.parse(text) as unknown
  }
}

/** A fixture's (`../fixtures/<name>`) groups and connections, as policy-with-reports repeats them. */
export function fixtureSections(name: string): PolicySections {
  const path = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
  const sections = readSections(path)
  const other = readSections(POLICY_WITH_REPORTS)
  for (const section of ['groups', 'connections'] as const) {
    for (const [key, value] of Object.entries(sections[section])) {
      if (JSON.stringify(other[section][key]) !== JSON.stringify(value)) {
        throw new Error(
          `${POLICY_WITH_REPORTS} must repeat ${section}.${key} from ${path} unchanged`
        )
      }
    }
  }
  return sections
}

/** Adds `sections` to the policy in force (conditionally on its version). */
export async function mergeIntoPolicy(
  admin: AdminCall,
  sections: PolicySections,
  comment: string
): Promise<void> {
  const current = (await admin('GET', '/v1/admin/policy')) as {
    version: number
    document: PolicySections
  }
  await admin(
    'PUT',
    '/v1/admin/policy',
    {
      ...current.document,
      groups: { ...current.document.groups, ...sections.groups },
      connections: { ...current.document.connections, ...sections.connections },
    },
    { 'if-match': `"${current.version}"`, 'x-gatehouse-comment': comment }
  )
}

function readSections(path: string): PolicySections {
  const document = parseYaml(readFileSync(path, 'utf8')) as Partial<PolicySections>
  return { groups: document.groups ?? {}, connections: document.connections ?? {} }
}
