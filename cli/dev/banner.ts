/**
 * What `gatehouse dev` prints once the stack is ready. Stdout carries only this, so
 * scripts can read it; `GATEHOUSE_AGENT_TOKEN=…` and `GATEHOUSE_APPROVER_TOKEN=…` are
 * lines of their own for them (and shell assignments when pasted). The curl lines are
 * ready to paste and use only single quotes, so they split without a shell.
 */
import { formatTime } from '../output.ts'
import { DEMO_AGENT, DEMO_APPROVER, DEMO_CONNECTION, type SeedResult } from './seed.ts'

export type BannerFacts = {
  gatewayUrl: string
  originUrl: string
  stateDir: string
  adminToken: string
  seed: SeedResult
}

/** How long the printed payment waits for a human (RFC 7240 `Prefer: wait`) before a 202. */
const APPROVAL_WAIT_SECONDS = 30

/** The three quick-start requests: what the demo policy allows, blocks and holds. */
export function quickStartCurls(gatewayUrl: string, agentToken: string) {
  const base = `${gatewayUrl}/proxy/${DEMO_CONNECTION}`
  const auth = `-H 'Authorization: Bearer ${agentToken}'`
  // -i shows the status and x-gatehouse-session; -w '\n' puts the shell prompt back on its own line.
  return {
    allowed: `curl -sS -i -w '\\n' ${auth} ${base}/orders`,
    blocked: `curl -sS -i -w '\\n' -X DELETE ${auth} ${base}/admin/users/42`,
    approval: `curl -sS -i -w '\\n' -X POST ${auth} -H 'Prefer: wait=${APPROVAL_WAIT_SECONDS}' -H 'Content-Type: application/json' -d '{"amount":4200,"currency":"EUR"}' ${base}/payments`,
  }
}

/** The banner text, ending with "Press Ctrl+C to stop." (what scripts wait for). */
export function formatBanner(facts: BannerFacts): string {
  const { seed } = facts
  const curls = quickStartCurls(facts.gatewayUrl, seed.agentToken)
  const policy =
    seed.policy.state === 'kept'
      ? `version ${seed.policy.version} is one you applied, so it was kept; the curl lines assume the demo\n` +
        '                policy (npx gatehouse policy apply -f cli/dev/demo-policy.yaml restores it)'
      : `version ${seed.policy.version}, the demo policy (cli/dev/demo-policy.yaml)` +
        (seed.policy.state === 'applied' ? ', applied now' : '')
  const revoked =
    seed.revokedTokens > 0
      ? ` The ${seed.revokedTokens} token(s) earlier runs minted for it are revoked.`
      : ''
  return `
  Gatehouse dev is ready.

  Gateway:      ${facts.gatewayUrl}
  Demo origin:  ${facts.originUrl} (answers only with its own secret, which only the gateway holds)
  State:        ${facts.stateDir} (secrets in dev.env; delete the directory to start over)
  Policy:       ${policy}

  Use the CLI as admin, from another terminal:

    export GATEHOUSE_URL=${facts.gatewayUrl} GATEHOUSE_TOKEN=${facts.adminToken}

  The demo agent's token (agent:${DEMO_AGENT}, connection "${DEMO_CONNECTION}", expires ${formatTime(seed.agentTokenExpiresAt)}).${revoked}

GATEHOUSE_AGENT_TOKEN=${seed.agentToken}

  The demo approver's token (agent:${DEMO_APPROVER}, in the demo policy's "approvers" group: it may
  approve or deny the demo agent's payments, and reach nothing; expires ${formatTime(seed.approverTokenExpiresAt)}).

GATEHOUSE_APPROVER_TOKEN=${seed.approverToken}

  Be the agent:

    # allowed by rule "read-only": the orders, fetched with a credential the agent never sees
    ${curls.allowed}

    # refused 403 policy.blocked by rule "no-admin-deletes"; the origin never sees it
    ${curls.blocked}

    # held for a human by rule "payments-need-approval": it waits up to ${APPROVAL_WAIT_SECONDS} s for a decision,
    # then answers 202 approval.pending with the approval id (also in x-gatehouse-approval)
    ${curls.approval}

    # decide it as the demo approver in the terminal with the export line (paste the
    # GATEHOUSE_APPROVER_TOKEN line there too); while the curl waits, the admin finds the
    # id with \`npx gatehouse approvals list --state pending\`:
    #   GATEHOUSE_TOKEN=$GATEHOUSE_APPROVER_TOKEN npx gatehouse approvals approve <id>
    # a waiting curl then gets the origin's answer; after a 202, send the same curl again
    # with -H 'X-Gatehouse-Approval: <id>' and it goes through, once

  See what was recorded:

    npx gatehouse sessions list
    npx gatehouse approvals list

  Press Ctrl+C to stop.
`
}
