/**
 * What the e2e setup registers for the Postgres tests, through the admin API as an admin
 * would: the connections `appdb` (the seeded shop) and `benchdb` (an empty database for
 * pgbench), their policy merged into the document in force (applied whole, so the demo
 * policy stays as it is), and one agent token for each.
 */

import { PG_ROLES, type PostgresServer } from '../../harness/postgres-server.ts'
import { adminClient, fixtureSections, mergeIntoPolicy } from './policy-sections.ts'

/** The database pgbench initialises; owned by the gateway's service role. */
export const BENCH_DATABASE = 'bench'
export const APP_CONNECTION = 'appdb'
export const BENCH_CONNECTION = 'benchdb'
/** The seeded shop again, with the customers' sensitive columns masked. */
export const MASKED_CONNECTION = 'maskdb'

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
  const postgresPolicy = fixtureSections('postgres-policy.yaml')
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

  await mergeIntoPolicy(admin, postgresPolicy, 'e2e: Postgres connections')

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
