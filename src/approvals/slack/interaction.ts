/**
 * Slack's interaction payload for a button press (`block_actions`), reduced to what a
 * decision needs. Slack posts it form-encoded, as JSON in the `payload` field.
 */
import { z } from 'zod'
import { GatehouseError } from '../../errors.ts'
import type { Verdict } from '../types.ts'
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from './message.ts'

// A Map, so an action_id such as `constructor` finds nothing.
const VERDICTS = new Map<string, Verdict>([
  [APPROVE_ACTION_ID, 'approve'],
  [DENY_ACTION_ID, 'deny'],
])

const SlackId = z.string().min(1).max(64)

/** Only the fields Gatehouse reads; Slack sends many more, which zod drops. */
const BlockActionsPayload = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: SlackId, team_id: SlackId.optional() }),
  // Org-wide (Enterprise Grid) installs may send `team: null`; the user still names one.
  team: z.object({ id: SlackId }).nullish(),
  actions: z
    .array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() }))
    .min(1),
  response_url: z.url({ protocol: /^https?$/ }).optional(),
})

/** A verified person pressing Approve or Deny on one approval's message. */
export type SlackDecisionAction = {
  slackUserId: string
  teamId: string
  verdict: Verdict
  approvalId: string
  /** Where the message can be replaced with the outcome (valid 30 minutes, five uses). */
  responseUrl: string | undefined
}

/**
 * Parses the raw form body of an interaction request. Returns null for presses that need
 * no decision (the "Review in Gatehouse" link button also notifies the request URL);
 * throws `request.invalid` for anything that is not a well-formed `block_actions` payload.
 */
export function parseSlackInteraction(rawBody: string): SlackDecisionAction | null {
  const payload = new URLSearchParams(rawBody).get('payload')
  if (payload === null) throw invalid('the form field `payload` is missing')
  let json: unknown
  try {
    json = JSON.parse(payload)
  } catch {
    throw invalid('`payload` is not JSON')
  }
  const result = BlockActionsPayload.safeParse(json)
  if (!result.success) {
    throw invalid(result.error.issues.map((issue) => issue.path.join('.')).join(', '))
  }
  const { user, team, actions, response_url } = result.data
  const [action] = actions
  const verdict = action && VERDICTS.get(action.action_id)
  if (!action || !verdict) return null
  const teamId = team?.id ?? user.team_id
  if (!action.value || !teamId) throw invalid('the action has no approval id, or no team')
  return {
    slackUserId: user.id,
    teamId,
    verdict,
    approvalId: action.value,
    responseUrl: response_url,
  }
}

function invalid(detail: string): GatehouseError {
  return new GatehouseError('request.invalid', 'This is not a Slack button interaction.', {
    detail,
  })
}
