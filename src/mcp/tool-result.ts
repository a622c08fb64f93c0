/**
 * Gatehouse answers in MCP's words: a result as JSON text plus structuredContent, and every
 * GatehouseError as a tool error (`isError: true`) whose text starts with the stable code,
 * so a model can act on it (`policy.blocked: …`, `approval.pending: …`).
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { GatehouseError } from '../errors.ts'

export function toolResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value }
}

/** The error's code and message (never its detail), worded for an MCP caller. */
export function toolError(error: GatehouseError, sessionId?: string): CallToolResult {
  const message = mcpMessage(error)
  const body = {
    error: {
      code: error.code,
      message,
      ...(error.data === undefined ? {} : { data: error.data }),
      ...(sessionId ? { sessionId } : {}),
    },
  }
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${message}` }],
    structuredContent: body,
  }
}

type PendingData = { approvalId?: string; url?: string; expiresAt?: string }

/** HTTP callers are told to resend with a header; MCP callers get the tool to call instead. */
function mcpMessage(error: GatehouseError): string {
  if (error.code !== 'approval.pending') return error.message
  const { approvalId, url, expiresAt } = (error.data ?? {}) as PendingData
  if (!approvalId) return error.message
  return [
    `This command needs human approval and was not run yet. An approver decides at ${url ?? 'the approval page'}`,
    expiresAt ? ` (the request expires at ${expiresAt})` : '',
    `. Tell the user, then call await_approval with {"approvalId": "${approvalId}"}: it waits for the decision and, once approved, runs exactly this command, once.`,
    ` Repeating this exact call with "approvalId": "${approvalId}" does the same; any other command is refused under this approval.`,
  ].join('')
}
