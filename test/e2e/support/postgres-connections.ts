/**
 * What the e2e setup registers for the Postgres tests, through the admin API as an admin
 * would: the connections `appdb` (the seeded shop) and `benchdb` (an empty database for
 * pgbench), their policy merged into the document in force (applied whole, so the demo
 * policy stays as it is), and one agent token for each.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { PG_ROLES, type PostgresServer } from '../../harness/postgres-server.ts'

/** The database pgbench initialises; owned by the gateway's service role. */
export const BENCH_DATABASE = 'bench'
export const APP_CONNECTION = 'appdb'
export const BENCH_CONNECTION = 'benchdb'
/** The seeded shop again, with the customers' sensitive columns masked. */
export const MASKED_CONNECTION = 'maskdb'

const POLICY_FIXTURE = fileURLToPath(new URL('../fixtures/postgres-policy.yaml', import.meta.url))
/** Applied mid-run by the policy tests; must keep the Postgres sections unchanged. */
const POLICY_WITH_REPORTS = fileURLToPath(
  new URL('../fixtures/policy-with-reports.yaml', import.meta.url)
)

type PolicySections = {
  groups: Record<string, unknown>
  connections: Record<string, unknown>
}

export type PostgresAccess = {
  /** Agent token for `appdb` (agent:e2e-pg-agent). */
  agentToken: string
  /** Agent token for `benchdb` (agent:e2e-pg-bench). */
  benchToken: string
  /** Agent token for `maskdb` (agent:e2e-pg-masked). */
  maskedToken: string
}

export async function registerPostgresConnections(
  gatewayUrl: string,
  adminToken: string,
  server: PostgresServer
): Promise<PostgresAccess> {
  const postgresPolicy = readPolicy(POLICY_FIXTURE)
  assertSectionsAgree(postgresPolicy, readPolicy(POLICY_WITH_REPORTS))
  server.sql(`CREATE DATABASE ${BENCH_DATABASE} OWNER ${PG_ROLES.scram.user}`, 'postgres')

  const admin = adminClient(gatewayUrl, adminToken)
  for (const [name, database] of [
    [APP_CONNECTION, server.database],
    [BENCH_CONNECTION, BENCH_DATABASE],
    [MASKED_CONNECTION, server.database],
  ] as const) {
    await admin('PUT', `/v1/admin/connections/${name}`, {
      kind: 'postgres',
      target: { host: server.host, port: server.port, database, tls: 'disable' },
      credential: {
        type: 'password',
        username: PG_ROLES.scram.user,
        password: PG_ROLES.scram.password,
      },
      description: `e2e: ${database} on the test cluster`,
    })
  }

  const current = (await admin('GET', '/v1/admin/policy')) as {
    version: number
    document: PolicySections
  }
  await admin(
    'PUT',
    '/v1/admin/policy',
    {
      ...current.document,
      groups: { ...current.document.groups, ...postgresPolicy.groups },
      connections: { ...current.document.connections, ...postgresPolicy.connections },
    },
    { 'if-match': `"${current.version}"`, 'x-gatehouse-comment': 'e2e: Postgres connections' }
  )

  const mint = async (name: string, connection: string) =>
    (
      (await admin('POST', '/v1/admin/tokens', { name, connections: [connection] })) as {
        token: string
      }
    ).token
  return {
    agentToken: await mint('e2e-pg-agent', APP_CONNECTION),
    benchToken: await mint('e2e-pg-bench', BENCH_CONNECTION),
    maskedToken: await mint('e2e-pg-masked', MASKED_CONNECTION),
  }
}

function readPolicy(path: string): PolicySections {
  const document = parseYaml(readFileSync(path, 'utf8')) as Partial<PolicySections>
  return { groups: document.groups ?? {}, connections: document.connections ?? {} }
}

/** policy-with-reports.yaml must carry the Postgres groups and connections unchanged. */
function assertSectionsAgree(postgres: PolicySections, other: PolicySections): void {
  for (const section of ['groups', 'connections'] as const) {
    for (const [name, value] of Object.entries(postgres[section])) {
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
