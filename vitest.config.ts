import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { APPROVALS_CLIENT, OIDC_AUDIENCE } from './test/harness/oidc-clients.ts'

/**
 * Two projects: `worker` runs inside workerd with real local D1/R2 against real servers
 * started by its global setup; `e2e` runs in Node against the gateway as `npm start`
 * runs it (wrangler dev), driving it with the CLI and real clients.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations('migrations')
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest(({ inject }) => ({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: 'test-admin-token-0123456789abcdef0123456789',
                  CREDENTIALS_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
                  OIDC_ISSUER: inject('oidcIssuer'),
                  OIDC_AUDIENCE,
                  OIDC_CLIENT_ID: APPROVALS_CLIENT.id,
                  OIDC_CLIENT_SECRET: APPROVALS_CLIENT.secret,
                  PUBLIC_URL: 'https://gatehouse.test',
                  // The recording Slack stand-in (test/harness/slack-server.ts).
                  SLACK_WEBHOOK_URL: `${inject('slackUrl')}/webhook/T000/B000/XXX`,
                  SLACK_SIGNING_SECRET: 'slack-signing-secret-for-the-worker',
                  SLACK_API_URL: `${inject('slackUrl')}/api`,
                  // Alerts and the audit export post to the stand-in's webhook sink.
                  ALERT_WEBHOOK_URL: `${inject('slackUrl')}/webhook-sink/alerts`,
                  ALERT_WEBHOOK_SECRET: 'alert-webhook-secret-for-the-tests',
                  AUDIT_WEBHOOK_URL: `${inject('slackUrl')}/webhook-sink/audit`,
                  AUDIT_WEBHOOK_SECRET: 'audit-webhook-secret-for-the-tests',
                },
              },
            })),
          ],
          test: {
            name: 'worker',
            include: ['test/worker/**/*.test.ts'],
            globalSetup: ['test/harness/worker-global-setup.ts'],
            setupFiles: ['test/worker/apply-migrations.ts'],
          },
        },
        {
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            environment: 'node',
            globalSetup: ['test/harness/e2e-global-setup.ts'],
            testTimeout: 60_000,
            hookTimeout: 180_000,
          },
        },
      ],
    },
  }
})
