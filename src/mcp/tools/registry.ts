/**
 * The tools one caller sees: `list_connections`, the tool of each connection kind it has
 * a connection of (kind-tools.ts), and `await_approval` once it has any of them.
 */
import type { ConnectionKind } from '../../pipeline/types.ts'
import type { GrantedConnection } from '../grants.ts'
import { awaitApprovalTool } from './await-approval.ts'
import { KIND_TOOLS } from './kind-tools.ts'
import { listConnectionsTool } from './list-connections.ts'
import type { McpTool } from './tool.ts'

/** The tools this caller may call, by name, in the order tools/list shows them. */
export function toolsFor(grants: readonly GrantedConnection[]): Map<string, McpTool> {
  const kinds = new Set(grants.map((grant) => grant.kind))
  const tools: McpTool[] = [listConnectionsTool]
  for (const [kind, tool] of Object.entries(KIND_TOOLS)) {
    if (tool && kinds.has(kind as ConnectionKind)) tools.push(tool)
  }
  if (tools.length > 1) tools.push(awaitApprovalTool)
  return new Map(tools.map((tool) => [tool.name, tool]))
}
