/**
 * Postgres connections to the worker tests' cluster, and SQL through the JSON API as a
 * setup agent: what several test files need before and beside what they test.
 */
import { inject } from 'vitest'
import { PG_ROLES } from '../../harness/postgres-roles.ts'
import { admin, asAgent, gatewayFetch } from './gateway.ts'

/** PUTs a connection to the `app` database, as the SCRAM role unless `role` says otherwise. */
export function putPostgresConnection(
  name: string,
  options: {
    role?: { user: string; password: string }
    target?: Record<string, unknown>
    description?: string
  } = {}
): Promise<Response> {
  const role = options.role ?? PG_ROLES.scram
  return admin('PUT', `/connections/${name}`, {
    kind: 'postgres',
    target: {
      host: '127.0.0.1',
      port: inject('postgresPort'),
      database: 'app',
      tls: 'disable',
      ...options.target,
    },
    credential: { type: 'password', username: role.user, password: role.password },
    ...(options.description ? { description: options.description } : {}),
  })
}

/** `POST /v1/connections/<connection>/query` as `token`; the raw response. */
export function queryAs(
  token: string,
  connection: string,
  sql: string,
  params: unknown[] = []
): Promise<Response> {
  return gatewayFetch(
    `/v1/connections/${connection}/query`,
    asAgent(token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql, params }),
    })
  )
}
