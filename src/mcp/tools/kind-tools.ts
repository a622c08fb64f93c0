/**
 * The tool of each connection kind: what `tools/list` offers for a caller's connections
 * and what `await_approval` replays an approval with. Adding a kind's tool is one entry here.
 */
import type { ConnectionKind } from '../../pipeline/types.ts'
import { execTool } from './exec.ts'
import { httpRequestTool } from './http-request.ts'
import { queryTool } from './query.ts'
import type { KindTool } from './tool.ts'

export const KIND_TOOLS: Partial<Record<ConnectionKind, KindTool>> = {
  postgres: queryTool,
  http: httpRequestTool,
  ssh: execTool,
}
