/**
 * How an MCP tool call waits for an approval. A client that sent a progressToken is held
 * and told what is happening with progress notifications (the approval link first, then a
 * heartbeat), up to MCP_HOLD_MS; one without a token gets `approval.pending` at once with
 * the approval id, and waits with `await_approval` instead. `Prefer: wait=<seconds>` on the
 * HTTP request and APPROVAL_WAIT_SECONDS cap both, as for the JSON APIs.
 */
import type { HoldOptions, PendingApproval } from '../pipeline/pause.ts'
import { httpHoldOptions } from '../protocols/http/hold.ts'
import type { ToolCall } from './tools/tool.ts'

/**
 * Longest hold of a tool call: under the TypeScript SDK client's 60 s default request
 * timeout (DEFAULT_REQUEST_TIMEOUT_MSEC), which progress resets only when the client asks.
 */
export const MCP_HOLD_MS = 45_000
/** How often a held call says it is still waiting. */
export const PROGRESS_INTERVAL_MS = 10_000

export type McpHold = {
  hold: HoldOptions
  /** Stops the heartbeat; call when the command has run or was refused. */
  stop: () => void
}

/**
 * Hold options for one tool call. `approvalId` claims an earlier approval (as the HTTP
 * header does); `waitMs` asks for a wait (await_approval), capped like any other.
 */
export function mcpHold(
  call: ToolCall,
  options: { approvalId?: string; waitMs?: number } = {}
): McpHold {
  const { gateway, request, extra } = call
  const http = httpHoldOptions(request, gateway.config)
  const capMs = http.waitMs ?? gateway.config.approvals.waitSeconds * 1000
  const progressToken = extra._meta?.progressToken
  const wanted = options.waitMs ?? (progressToken === undefined ? 0 : MCP_HOLD_MS)
  let progress = 0
  let timer: ReturnType<typeof setInterval> | undefined
  const notify = (message: string) => {
    if (progressToken === undefined) return
    progress += 1
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress, message },
      })
      .catch(() => {})
  }
  const startedAt = gateway.now()
  const heartbeat = (pending: PendingApproval) => {
    if (progressToken === undefined || timer !== undefined) return
    timer = setInterval(() => {
      const seconds = Math.round((gateway.now() - startedAt) / 1000)
      notify(`Still waiting for approval ${pending.id} (${seconds} s): ${pending.url}`)
    }, PROGRESS_INTERVAL_MS)
  }
  const signals = [extra.signal, request.signal]
  return {
    hold: {
      waitMs: Math.min(wanted, capMs),
      ...(options.approvalId ? { approvalId: options.approvalId } : {}),
      signal: AbortSignal.any(signals),
      onPending: async (pending) => {
        notify(
          `Waiting for approval ${pending.id}: an approver decides at ${pending.url} (expires ${new Date(pending.expiresAt).toISOString()}).`
        )
        heartbeat(pending)
      },
    },
    stop: () => {
      if (timer !== undefined) clearInterval(timer)
    },
  }
}
