// Values the global setups hand to tests through vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    originPort: number
    deadPort: number
    /** The private PostgreSQL 15 cluster (test/harness/postgres-server.ts). */
    postgresPort: number
    /** A fake origin that counts bytes after login (test/harness/recording-postgres.ts). */
    recordingPostgres: { port: number; controlPort: number }
    oidcIssuer: string
    oidcPrivateJwk: string
    /** The Slack stand-in (test/harness/slack-server.ts): Web API at `/api`, webhooks, response_urls. */
    slackUrl: string
    /**
     * The private OpenSSH server (test/harness/sshd-server.ts), admitting `user` by the
     * ed25519 `clientPrivateKey` or by `password`. `hostKeys` are its keys as OpenSSH public
     * key lines (pin them as `target.hostKey`); `wrongHostKey` is not one of them, and
     * `unauthorizedPrivateKey` is a key sshd refuses. `markerDir` is writable by `user`, so a
     * test can prove a blocked `touch <markerDir>/…` never ran. In e2e also `sshPort` and the
     * `box` / `box-password` connections (test/e2e/support/ssh-connections.ts).
     */
    sshd: {
      host: string
      port: number
      user: string
      password: string
      clientPrivateKey: string
      clientPublicKey: string
      hostKeys: { ed25519: string; rsa: string }
      wrongHostKey: string
      unauthorizedPrivateKey: string
      markerDir: string
    }
    /** e2e: the running `gatehouse dev` gateway, e.g. http://127.0.0.1:41234 */
    gatewayUrl: string
    /** e2e: the admin token the dev banner printed (GATEHOUSE_TOKEN). */
    adminToken: string
    /** e2e: the demo agent token the dev banner printed (GATEHOUSE_AGENT_TOKEN). */
    agentToken: string
    /** e2e: the demo approver's token the dev banner printed (GATEHOUSE_APPROVER_TOKEN). */
    approverToken: string
    /** e2e: the banner's curl lines: allowed GET, blocked DELETE, approval-needing POST. */
    quickStartCurls: string[]
    /** e2e: the demo origin behind the `demo` connection. */
    demoOriginUrl: string
    /** e2e: the demo origin's own secret, read from the state directory. */
    demoOriginToken: string
    /** e2e: the state directory the running `gatehouse dev` uses. */
    devStateDir: string
    /** e2e: agent token (agent:e2e-pg-agent) for the `appdb` Postgres connection. */
    postgresAgentToken: string
    /** e2e: agent token (agent:e2e-pg-masked) for `maskdb`, the shop with masked columns. */
    postgresMaskedToken: string
    /** e2e: agent token (agent:e2e-pg-bench) for `benchdb`, where pgbench may do anything. */
    postgresBenchToken: string
    /** e2e: the private sshd's port (also `sshd.port`), reached as the `box` connections. */
    sshPort: number
    /**
     * e2e: agent token (agent:e2e-ssh-agent) for `box` (key login, ed25519 host key pinned,
     * the policy of test/e2e/fixtures/ssh-policy.yaml) and `box-password` (password login,
     * RSA host key pinned, everything allowed). `approverToken` may decide its approvals.
     */
    sshAgentToken: string
  }
}

export {}
