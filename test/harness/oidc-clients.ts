/** Test OIDC clients shared by the provider (Node) and the tests (workerd). */
export const OIDC_AUDIENCE = 'gatehouse-test'

/** Client id → secret and the groups its tokens assert. */
export const OIDC_CLIENTS = {
  'ci-agent': { secret: 'ci-agent-secret-0123456789', groups: ['ci-agents'] },
  'ops-admin': { secret: 'ops-admin-secret-0123456789', groups: ['gatehouse-admins'] },
  'no-groups': { secret: 'no-groups-secret-0123456789', groups: [] as string[] },
} as const

export type OidcClientId = keyof typeof OIDC_CLIENTS
