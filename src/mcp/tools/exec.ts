/**
 * `exec`: one shell command line on an SSH connection, through the same function as
 * `POST /v1/connections/:name/exec` (runExec), so the command policy, approvals, masking
 * and recording are the exec API's own.
 */
import { z } from 'zod'
import { ConnectionName } from '../../policy/document.ts'
import {
  ExecRequest,
  MAX_COMMAND_CHARS,
  MAX_STDIN_CHARS,
} from '../../protocols/ssh/exec/exec-request.ts'
import { runExec } from '../../protocols/ssh/exec/run-exec.ts'
import { type ReplayWait, replayWait, runToolSession } from '../tool-session.ts'
import { ApprovalId } from './approval-id.ts'
import {
  connectionEnum,
  defineTool,
  inputSchema,
  type KindTool,
  kindToolDescription,
  ReplayRefusal,
  type ToolCall,
} from './tool.ts'

/** A model gets at most this many seconds per command. */
const MCP_MAX_TIMEOUT_SECONDS = 600

function execSchema(connection: z.ZodType<string>) {
  return z
    .object({
      connection: connection.describe('The SSH connection (host) to run it on.'),
      command: z
        .string()
        .min(1)
        .max(MAX_COMMAND_CHARS)
        .describe(
          'A shell command line, run by the login shell of the host (pipes, && etc. work).'
        ),
      stdin: z
        .string()
        .max(MAX_STDIN_CHARS)
        .optional()
        .describe('Text written to the command’s standard input, then end of file.'),
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(MCP_MAX_TIMEOUT_SECONDS)
        .optional()
        .describe('Kill the command after this many seconds (default: the connection’s).'),
      approvalId: ApprovalId.optional().describe(
        'Only when resending a command that was held for approval: the approval id it got.'
      ),
    })
    .strict()
}

const ExecInput = execSchema(ConnectionName)
type ExecInput = z.infer<typeof ExecInput>

export const execTool: KindTool = {
  kind: 'ssh',
  ...defineTool({
    name: 'exec',
    input: ExecInput,
    definition: (grants) => ({
      name: 'exec',
      title: 'Run a shell command',
      description: kindToolDescription(grants, 'ssh', [
        'Run one shell command line on an SSH host through the Gatehouse gateway and get {exitCode, signal, stdout, stderr, timedOut, truncated, masked} back.',
        'The command line is parsed and every program in it is checked against the policy before the host sees it, and it is recorded; sensitive output comes back masked.',
      ]),
      inputSchema: inputSchema(execSchema(connectionEnum(grants, 'ssh'))),
      annotations: { openWorldHint: true, destructiveHint: true },
    }),
    run: (call, input) => runExecTool(call, input),
  }),
  async replay(call, approval, waitMs, waiting) {
    const command = approval.command
    if (command.kind !== 'shell' || command.via !== 'api') {
      return new ReplayRefusal(
        'it was requested over an SSH client session, and only that session can use it',
        false
      )
    }
    return runExecTool(
      call,
      {
        connection: approval.connection.name,
        command: command.text,
        ...(command.stdin?.text === undefined ? {} : { stdin: command.stdin.text }),
        approvalId: approval.id,
      },
      replayWait(waitMs, waiting)
    )
  },
}

function runExecTool(call: ToolCall, input: ExecInput, replay?: ReplayWait) {
  return runToolSession(
    call,
    {
      tool: 'exec',
      connection: input.connection,
      kinds: ['ssh'],
      arguments: {
        connection: input.connection,
        command: input.command,
        ...(input.stdin === undefined ? {} : { stdinBytes: input.stdin.length }),
      },
      ...(input.approvalId ? { approvalId: input.approvalId } : {}),
      ...replay,
    },
    async (session, held) => {
      const request = ExecRequest.parse({
        command: input.command,
        ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
        ...(input.timeoutSeconds === undefined ? {} : { timeoutSeconds: input.timeoutSeconds }),
      })
      const result = await runExec(session, request, held.hold)
      return {
        result,
        summary: {
          exitCode: result.exitCode,
          ...(result.signal ? { signal: result.signal } : {}),
          timedOut: result.timedOut,
          truncated: result.truncated,
          ...(result.masked ? { masked: result.masked } : {}),
        },
      }
    }
  )
}
