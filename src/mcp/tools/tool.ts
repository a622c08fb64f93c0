/**
 * What an MCP tool is here: a name, a definition for `tools/list` built from what the
 * caller is granted, and a call that validates its arguments with zod and runs through
 * the gateway pipeline. Kind tools (one per connection kind) can also replay the command
 * an approval holds, for `await_approval`.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  Tool,
} from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import type { ApprovalRecord } from '../../approvals/types.ts'
import { GatehouseError } from '../../errors.ts'
import type { Gateway } from '../../pipeline/gateway.ts'
import type { PendingApproval } from '../../pipeline/pause.ts'
import type { Caller, ConnectionKind } from '../../pipeline/types.ts'
import { describeIssues } from '../../policy/document.ts'
import type { GrantedConnection } from '../grants.ts'
import { toolError } from '../tool-result.ts'

/** What the server hands a tools/call handler besides the request itself. */
export type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** One MCP HTTP request: who is calling and how to reach the pipeline. */
export type McpRequestContext = {
  gateway: Gateway
  caller: Caller
  /** The caller's Authorization header: every tool call opens its session with it. */
  authorization: string
  client: { ip?: string; userAgent?: string }
  /** The HTTP request carrying the JSON-RPC message (`Prefer: wait=`, hang-up signal). */
  request: Request
}

/** One tools/call. */
export type ToolCall = McpRequestContext & {
  extra: CallExtra
  /** The connections the caller may use, with their policy in plain words. */
  grants: readonly GrantedConnection[]
}

export type McpTool = {
  name: string
  /** The tool as tools/list shows it to this caller. */
  definition(grants: readonly GrantedConnection[]): Tool
  call(call: ToolCall, args: unknown): Promise<CallToolResult>
}

/** A tool that runs commands on connections of one kind (`query` on postgres, …). */
export type KindTool = McpTool & {
  kind: ConnectionKind
  /**
   * Runs the command `approval` holds, claiming the approval, as `await_approval` does
   * (`waiting`: it is still pending, so say so first), or says why that command cannot be
   * rebuilt from what the approval stores.
   */
  replay(
    call: ToolCall,
    approval: ApprovalRecord,
    waitMs: number,
    waiting?: PendingApproval
  ): Promise<CallToolResult | ReplayRefusal>
}

/**
 * Why an approval's command cannot be replayed; `resend`: the tool itself can still claim
 * it, called again with the original arguments and the approval id.
 */
export class ReplayRefusal {
  readonly cannot: string
  readonly resend: boolean
  constructor(cannot: string, resend: boolean) {
    this.cannot = cannot
    this.resend = resend
  }
}

type ToolSpec<S extends z.ZodType> = {
  name: string
  /** Arguments at call time; `connection` is a plain name here (authorization decides). */
  input: S
  definition(grants: readonly GrantedConnection[]): Tool
  run(call: ToolCall, input: z.infer<S>): Promise<CallToolResult>
}

/** A tool whose arguments are parsed with zod; bad arguments are a `request.invalid` tool error. */
export function defineTool<S extends z.ZodType>(spec: ToolSpec<S>): McpTool & ToolSpec<S> {
  return {
    ...spec,
    async call(call, args) {
      const parsed = spec.input.safeParse(args)
      if (!parsed.success) {
        const issues = describeIssues(parsed.error)
        return toolError(
          new GatehouseError(
            'request.invalid',
            `Invalid arguments for ${spec.name}: ${issues
              .map((issue) => `${issue.path || '(arguments)'}: ${issue.message}`)
              .join('; ')}. Nothing was run.`,
            { data: { issues } }
          )
        )
      }
      return spec.run(call, parsed.data)
    },
  }
}

/** A tool's input schema as JSON Schema (draft 2020-12), as MCP's `inputSchema` wants it. */
export function inputSchema(schema: z.ZodType): Tool['inputSchema'] {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>
  return { ...json, type: 'object' } as Tool['inputSchema']
}

/**
 * A kind tool's description: what it does (`about`, one sentence per line), the refusals a
 * model should expect, then the policy of each of the caller's connections of `kind`.
 */
export function kindToolDescription(
  grants: readonly GrantedConnection[],
  kind: ConnectionKind,
  about: readonly string[]
): string {
  return [
    ...about,
    `Blocked ${NOUNS[kind]} return a policy.blocked error; ${NOUNS[kind]} that need approval return approval.pending with an approval id (then call await_approval).`,
    'Policy, first matching rule decides:',
    ...grants
      .filter((grant) => grant.kind === kind)
      .map((grant) => `- on ${grant.name}: ${grant.policy.join('; ')}`),
  ].join('\n')
}

const NOUNS: Record<ConnectionKind, string> = {
  http: 'requests',
  postgres: 'statements',
  mysql: 'statements',
  ssh: 'commands',
}

/** `connection` in a definition: one of the caller's connections of the tool's kind. */
export function connectionEnum(grants: readonly GrantedConnection[], kind: ConnectionKind) {
  const names = grants.filter((grant) => grant.kind === kind).map((grant) => grant.name)
  return z.enum(names as [string, ...string[]])
}
