/**
 * `await_approval`: waits for the decision on a command that came back `approval.pending`
 * and, once approved, runs exactly that command, once. The command is rebuilt from what
 * the approval stores (so there is nothing for the caller to alter) and only when that
 * copy is exact: its fingerprint must equal the approval's. The run then claims the
 * approval like an HTTP retry with `X-Gatehouse-Approval` (approvals/gate.ts), which checks
 * the fingerprint again and lets it through once.
 */
import { z } from 'zod'
import { approvalStub } from '../../approvals/approval-stub.ts'
import { commandHash } from '../../approvals/fingerprint.ts'
import { GatehouseError } from '../../errors.ts'
import { MCP_HOLD_MS } from '../hold.ts'
import { toolError } from '../tool-result.ts'
import { ApprovalId } from './approval-id.ts'
import { KIND_TOOLS } from './kind-tools.ts'
import { defineTool, inputSchema, ReplayRefusal } from './tool.ts'

/** Longest wait a caller may ask for; APPROVAL_WAIT_SECONDS caps it further. */
const MAX_WAIT_SECONDS = 3_600

const AwaitInput = z
  .object({
    approvalId: ApprovalId.describe('The approval id from the approval.pending result.'),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_WAIT_SECONDS)
      .optional()
      .describe(
        `How long to wait for the decision (default ${MCP_HOLD_MS / 1000}; the gateway caps it). Still pending then: call again.`
      ),
  })
  .strict()

export const awaitApprovalTool = defineTool({
  name: 'await_approval',
  input: AwaitInput,
  definition: () => ({
    name: 'await_approval',
    title: 'Wait for an approval',
    description:
      'Wait for a human to decide on a command that returned approval.pending, then run exactly that command (once) and return its result. Returns approval.pending again if nobody decided in time (call it again), approval.denied or approval.expired if it will not run.',
    inputSchema: inputSchema(AwaitInput),
    annotations: { openWorldHint: true },
  }),
  async run(call, input) {
    const stub = approvalStub(call.gateway.approvalRequests, input.approvalId)
    const approval = stub ? await stub.view() : null
    if (!approval || approval.requester.id !== call.caller.id) {
      return toolError(
        new GatehouseError('approval.not_found', 'No approval with this id was requested by you.')
      )
    }
    const tool = KIND_TOOLS[approval.connection.kind]
    const refuse = ({ cannot, resend }: ReplayRefusal) =>
      toolError(
        new GatehouseError(
          'approval.mismatch',
          `await_approval cannot run this approval's command: ${cannot}.${
            tool && resend
              ? ` Call ${tool.name} again with exactly the original arguments and "approvalId": "${approval.id}".`
              : ''
          }`,
          { data: { approvalId: approval.id } }
        )
      )
    if (!tool) {
      return refuse(
        new ReplayRefusal(`${approval.connection.kind} connections have no MCP tool`, false)
      )
    }
    // What approvers saw is stored masked by detectors; a masked copy is not the command.
    if ((await commandHash(approval.command)) !== approval.commandHash) {
      return refuse(new ReplayRefusal('it is stored masked', true))
    }
    const waitMs = (input.waitSeconds ?? MCP_HOLD_MS / 1000) * 1000
    const result = await tool.replay(
      call,
      approval,
      waitMs,
      approval.state === 'pending'
        ? { id: approval.id, url: approval.url, expiresAt: approval.expiresAt }
        : undefined
    )
    return result instanceof ReplayRefusal ? refuse(result) : result
  },
})
