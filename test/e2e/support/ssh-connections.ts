/**
 * What the e2e setup registers for the SSH tests, through the admin API as an admin would:
 * `box` (key auth, the ed25519 host key pinned) and `box-password` (password auth, the RSA
 * host key pinned), both on the private sshd, their policy merged into the document in
 * force (applied whole, so the demo and Postgres sections stay as they are), and one agent
 * token for both.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import type { SshdServer } from '../../harness/sshd-server.ts'

export const SSH_CONNECTION = 'box'
export const SSH_PASSWORD_CONNECTION = 'box-password'
/** The agent the SSH token stands for (member of group:ssh-agents). */
export const SSH_AGENT = 'e2e-ssh-agent'

const POLICY_FIXTURE = fileURLToPath(new URL('../fixtures/ssh-policy.yaml', import.meta.url))
/** Applied mid-run by the policy tests; must keep the SSH sections unchanged. */
const POLICY_WITH_REPORTS = fileURLToPath(
  new URL('../fixtures/policy-with-reports.yaml', import.meta.url)
)

type PolicySections = {
  groups: Record<string, unknown>
  connections: Record<string, unknown>
}

export type SshAccess = {
  /** Agent token (agent:e2e-ssh-agent) for `box` and `box-password`. */
  agentToken: string
}

export async function registerSshConnections(
  gatewayUrl: string,
  adminToken: string,
  server: SshdServer
): Promise<SshAccess> {
  const sshPolicy = readPolicy(POLICY_FIXTURE)
  assertSectionsAgree(sshPolicy, readPolicy(POLICY_WITH_REPORTS))
  const admin = adminClient(gatewayUrl, adminToken)

  await admin('PUT', `/v1/admin/connections/${SSH_CONNECTION}`, {
    kind: 'ssh',
    target: { host: server.host, port: server.port, hostKey: server.hostKeys.ed25519 },
    credential: { type: 'key', username: server.user, privateKey: server.clientPrivateKey },
    description: 'e2e: the test sshd, key login',
  })
  await admin('PUT', `/v1/admin/connections/${SSH_PASSWORD_CONNECTION}`, {
    kind: 'ssh',
    target: { host: server.host, port: server.port, hostKey: server.hostKeys.rsa },
    credential: { type: 'password', username: server.user, password: server.password },
    description: 'e2e: the test sshd, password login',
  })

  const current = (await admin('GET', '/v1/admin/policy')) as {
    version: number
    document: PolicySections
  }
  await admin(
    'PUT',
    '/v1/admin/policy',
    {
      ...current.document,
      groups: { ...current.document.groups, ...sshPolicy.groups },
      connections: { ...current.document.connections, ...sshPolicy.connections },
    },
    { 'if-match': `"${current.version}"`, 'x-gatehouse-comment': 'e2e: SSH connections' }
  )

  const minted = (await admin('POST', '/v1/admin/tokens', {
    name: SSH_AGENT,
    connections: [SSH_CONNECTION, SSH_PASSWORD_CONNECTION],
  })) as { token: string }
  return { agentToken: minted.token }
}

function readPolicy(path: string): PolicySections {
  const document = parseYaml(readFileSync(path, 'utf8')) as Partial<PolicySections>
  return { groups: document.groups ?? {}, connections: document.connections ?? {} }
}

/** policy-with-reports.yaml must carry the SSH groups and connections unchanged. */
function assertSectionsAgree(ssh: PolicySections, other: PolicySections): void {
  for (const section of ['groups', 'connections'] as const) {
    for (const [name, value] of Object.entries(ssh[section])) {
      if (JSON.stringify(other[section][name]) !== JSON.stringify(value)) {
        throw new Error(
          `${POLICY_WITH_REPORTS} must repeat ${section}.${name} from ${POLICY_FIXTURE} unchanged`
        )
      }
    }
  }
}

function adminClient(gatewayUrl: string, adminToken: string) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {}
  ): Promise<unknown> => {
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
