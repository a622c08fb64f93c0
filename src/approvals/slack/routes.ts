/**
 * `POST /slack/interactions`: Slack's Approve / Deny buttons. The request is verified
 * against the signing secret, the Slack user is mapped to a Gatehouse identity through the
 * policy's `slackUsers`, and the decision goes through the same path as the approval page.
 */
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from '../../app-env.ts'
import { GatehouseError } from '../../errors.ts'
import { approverFromSlackUser, loadCurrentPolicy } from '../approver.ts'
import { decideApproval } from '../decide.ts'
import { parseSlackInteraction } from './interaction.ts'
import { escapeMrkdwn } from './message.ts'
import { updateApprovalMessage } from './notifier.ts'
import { verifySlackRequest } from './signature.ts'

/** A block_actions payload is a few KiB; the cap bounds what is read before verification. */
export const MAX_INTERACTION_BYTES = 64 * 1024

export const slackRoutes = new Hono<AppEnv>()

// Without a signing secret nothing can be verified, so the endpoint does not exist.
slackRoutes.use('/interactions', async (c, next) => {
  if (!c.get('gateway').config.slack.signingSecret) {
    throw new GatehouseError(
      'resource.not_found',
      `Nothing here: ${c.req.method} /slack/interactions`
    )
  }
  await next()
})

slackRoutes.use(
  '/interactions',
  bodyLimit({
    maxSize: MAX_INTERACTION_BYTES,
    onError: () => {
      throw new GatehouseError(
        'request.too_large',
        `Slack interaction bodies are limited to ${MAX_INTERACTION_BYTES} bytes.`
      )
    },
  })
)

slackRoutes.post('/interactions', async (c) => {
  const gateway = c.get('gateway')
  const slack = gateway.config.slack
  // Form-encoded, so read as bytes: workerd warns when .text() meets a non-text type.
  const rawBody = new TextDecoder().decode(await c.req.arrayBuffer())
  await verifySlackRequest(slack.signingSecret ?? '', c.req.raw.headers, rawBody, gateway.now())
  const action = parseSlackInteraction(rawBody)
  // The link button also reaches here; Slack only needs the acknowledgement.
  if (!action) return c.body(null, 200)

  const policy = await loadCurrentPolicy(gateway)
  const approver = approverFromSlackUser(policy, action.slackUserId)
  if (!approver) {
    console.warn('slack decision from an unmapped user', {
      approval: action.approvalId,
      slackUser: action.slackUserId,
      team: action.teamId,
    })
    return ephemeral(
      c,
      'Your Slack account is not mapped to a Gatehouse identity, so Gatehouse cannot accept ' +
        'your decision. Ask an administrator to add you to `slackUsers` in the policy, or ' +
        'decide on the approval page.'
    )
  }

  const result = await decideApproval(gateway, action.approvalId, approver, action.verdict, 'slack')
  if (!result.ok) {
    return ephemeral(c, escapeMrkdwn(`Gatehouse did not record your decision: ${result.message}`))
  }

  const record = result.record
  const responseUrl = action.responseUrl
  gateway.waitUntil(
    updateApprovalMessage(slack, record, responseUrl ? { responseUrl } : {}).catch((cause) => {
      console.error('updating the Slack message failed', { approval: record.id, cause })
    })
  )
  const done = action.verdict === 'approve' ? 'approved' : 'denied'
  return ephemeral(c, escapeMrkdwn(`You ${done} approval ${record.id} as ${approver.name}.`))
})

/** Answered in the acknowledgement, seen only by the person who pressed the button. */
function ephemeral(c: Context<AppEnv>, text: string): Response {
  return c.json({ response_type: 'ephemeral', replace_original: false, text })
}
