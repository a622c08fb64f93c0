/**
 * Runs one tool call as one gateway session (protocol `mcp`), exactly as the JSON APIs
 * run one request: openSession authenticates and authorizes, the command goes through
 * decide → write ahead → hold → forward → mask, and the transcript also says which tool
 * was called, with what arguments (masked by the connection's detectors, as every
 * recorded command is) and how it ended (a summary, never the rows or bodies).
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { toGatehouseError } from '../errors.ts'
import { maskForRecord } from '../masking/record.ts'
import type { PendingApproval } from '../pipeline/pause.ts'
import { type GatewaySession, openSession } from '../pipeline/session.ts'
import type { ConnectionKind } from '../pipeline/types.ts'
import { type McpHold, mcpHold } from './hold.ts'
import { toolError, toolResult } from './tool-result.ts'
import type { ToolCall } from './tools/tool.ts'

export type ToolSessionSpec = {
  tool: string
  connection: string
  kinds: readonly ConnectionKind[]
  /** The tool's arguments, recorded masked (with `approvalId`, when one is claimed). */
  arguments: Record<string, unknown>
  /** Claims an approval (the `approvalId` argument, or await_approval's). */
  approvalId?: string
  /** A wait asked for explicitly (await_approval); else the tool call's default. */
  waitMs?: number
  /** The approval being claimed is still pending: tell the client before waiting on it. */
  waiting?: PendingApproval
}

/** A replayed approval: recorded as the tool the client called, waiting as it asked. */
export type ReplayWait = Pick<ToolSessionSpec, 'tool' | 'waitMs' | 'waiting'>

/** How `await_approval` replays a kind tool's command: as itself, waiting `waitMs`. */
export function replayWait(waitMs: number, waiting?: PendingApproval): ReplayWait {
  return { tool: 'await_approval', waitMs, ...(waiting ? { waiting } : {}) }
}

/** What a tool returns to the caller, and the summary its transcript keeps. */
export type ToolOutput = { result: Record<string, unknown>; summary: Record<string, unknown> }

export async function runToolSession(
  call: ToolCall,
  spec: ToolSessionSpec,
  run: (session: GatewaySession, held: McpHold) => Promise<ToolOutput>
): Promise<CallToolResult> {
  let session: GatewaySession
  try {
    session = await openSession(call.gateway, {
      authorization: call.authorization,
      connectionName: spec.connection,
      protocol: 'mcp',
      kinds: spec.kinds,
      client: call.client,
      details: { tool: spec.tool },
    })
  } catch (error) {
    // Recorded by openSession when the caller could be named.
    return toolError(toGatehouseError(error))
  }
  const held = mcpHold(call, {
    ...(spec.approvalId ? { approvalId: spec.approvalId } : {}),
    ...(spec.waitMs === undefined ? {} : { waitMs: spec.waitMs }),
  })
  try {
    const args = spec.approvalId
      ? { ...spec.arguments, approvalId: spec.approvalId }
      : spec.arguments
    session.recordDetail({
      tool: spec.tool,
      arguments: maskForRecord(args, session.masking.record),
    })
    if (spec.waiting) await held.hold.onPending?.(spec.waiting)
    const { result, summary } = await run(session, held)
    session.recordDetail({ tool: spec.tool, result: { isError: false, ...summary } })
    return toolResult({ ...result, sessionId: session.id })
  } catch (error) {
    const refusal = toGatehouseError(error)
    session.recordDetail({ tool: spec.tool, result: { isError: true, code: refusal.code } })
    return toolError(refusal, session.id)
  } finally {
    held.stop()
    call.gateway.waitUntil(session.close())
  }
}
