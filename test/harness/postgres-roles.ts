/** Roles and database of the test cluster, shared by the harness (Node) and tests (workerd). */
/** Roles the tests use; the gateway holds these passwords as connection credentials. */
export const PG_ROLES = {
  scram: { user: 'gatehouse_svc', password: 'svc-Scr4m-päss' },
  md5: { user: 'legacy_md5', password: 'md5-secret' },
  cleartext: { user: 'plain_pw', password: 'plain-secret' },
  /** A role whose password the gateway does not know, for refusals. */
  admin: { user: 'postgres', password: 'superuser-secret' },
} as const

export const PG_DATABASE = 'app'
