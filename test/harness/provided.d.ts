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
  }
}

export {}
