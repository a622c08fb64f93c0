/** Test OIDC clients shared by the provider (Node) and the tests (workerd). */
export const OIDC_AUDIENCE = 'gatehouse-test'

/** Client id → secret and the groups its tokens assert. */
export const OIDC_CLIENTS = {
  'ci-agent': { secret: 'ci-agent-secret-0123456789', groups: ['ci-agents'] },
  'ops-admin': { secret: 'ops-admin-secret-0123456789', groups: ['gatehouse-admins'] },
  'no-groups': { secret: 'no-groups-secret-0123456789', groups: [] as string[] },
} as const

export type OidcClientId = keyof typeof OIDC_CLIENTS

/** The gateway's approver sign-in client (authorization code + PKCE, confidential). */
export const APPROVALS_CLIENT = {
  id: 'gatehouse-approvals',
  secret: 'gatehouse-approvals-secret-0123456789',
} as const

/**
 * People who can sign in at the provider's login form (any password); the account id is
 * the login name. Carol requests, Alice approves payments, Bob is in another team; Carol
 * is also an approver so that self-approval is refused for that reason alone. Dana
 * responds to incidents and Erin administers the gateway (both may use the console).
 */
export const TEST_PEOPLE = {
  alice: { email: 'alice@example.com', groups: ['payments-approvers'] },
  bob: { email: 'bob@example.com', groups: ['engineering'] },
  carol: { email: 'carol@example.com', groups: ['payments-approvers', 'engineering'] },
  dana: { email: 'dana@example.com', groups: ['gatehouse-responders'] },
  erin: { email: 'erin@example.com', groups: ['gatehouse-admins'] },
} as const satisfies Record<string, { email: string; groups: readonly string[] }>

export type TestPerson = keyof typeof TEST_PEOPLE

/**
 * `wrangler dev` arguments that turn on OIDC bearer tokens and the approver/console
 * sign-in against a test provider, with links built on `publicUrl`.
 */
export function signInVars(issuer: string, publicUrl: string): string[] {
  return [
    ...['--var', `OIDC_ISSUER:${issuer}`],
    ...['--var', `OIDC_AUDIENCE:${OIDC_AUDIENCE}`],
    ...['--var', `OIDC_CLIENT_ID:${APPROVALS_CLIENT.id}`],
    ...['--var', `OIDC_CLIENT_SECRET:${APPROVALS_CLIENT.secret}`],
    ...['--var', `PUBLIC_URL:${publicUrl}`],
  ]
}
