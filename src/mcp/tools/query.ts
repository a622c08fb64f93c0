/**
 * `query`: one SQL statement on a Postgres connection, through the same function as
 * `POST /v1/connections/:name/query` (runQuery), so blocking, masking, approvals and
 * recording are the JSON API's own.
 */
import { z } from 'zod'
import { ConnectionName } from '../../policy/document.ts'
import { MAX_SQL_CHARS } from '../../policy/sql/index.ts'
import { QueryRequest, runQuery } from '../../protocols/postgres/query-api.ts'
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

/** Rows a model gets by default; it may ask for up to MCP_MAX_ROWS. */
const MCP_DEFAULT_ROWS = 100
const MCP_MAX_ROWS = 1_000
/** Bound parameters per statement over MCP (the JSON API allows the protocol's 65535). */
const MCP_MAX_PARAMS = 1_000

/** As the JSON API takes them: objects and arrays are sent as JSON text. */
const Param = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.record(z.string(), z.unknown()),
  z.array(z.unknown()),
])

function querySchema(connection: z.ZodType<string>) {
  return z
    .object({
      connection: connection.describe('The Postgres connection to run it on.'),
      sql: z
        .string()
        .min(1)
        .max(MAX_SQL_CHARS)
        .describe('Exactly one SQL statement; use $1, $2, … for values.'),
      params: z
        .array(Param)
        .max(MCP_MAX_PARAMS)
        .default([])
        .describe('Values bound to $1, $2, … (sent as data, never spliced into the SQL).'),
      maxRows: z
        .number()
        .int()
        .min(1)
        .max(MCP_MAX_ROWS)
        .default(MCP_DEFAULT_ROWS)
        .describe('Most rows returned; `truncated` says when there were more.'),
      approvalId: ApprovalId.optional().describe(
        'Only when resending a command that was held for approval: the approval id it got.'
      ),
    })
    .strict()
}

const QueryInput = querySchema(ConnectionName)
type QueryInput = z.infer<typeof QueryInput>

export const queryTool: KindTool = {
  kind: 'postgres',
  ...defineTool({
    name: 'query',
    input: QueryInput,
    definition: (grants) => ({
      name: 'query',
      title: 'Run SQL',
      description: kindToolDescription(grants, 'postgres', [
        'Run one SQL statement on a Postgres connection through the Gatehouse gateway and get the rows back as JSON ({columns, rows, rowCount, command, truncated, masked}).',
        'Every statement is checked against the policy before it reaches the database and is recorded; sensitive values come back masked.',
      ]),
      inputSchema: inputSchema(querySchema(connectionEnum(grants, 'postgres'))),
      annotations: { openWorldHint: true, destructiveHint: true },
    }),
    run: (call, input) => runQueryTool(call, input),
  }),
  async replay(call, approval, waitMs, waiting) {
    const command = approval.command
    if (command.kind !== 'sql' || command.via !== 'api') {
      return new ReplayRefusal(
        'it was requested over a Postgres client session, and only that session can use it',
        false
      )
    }
    return runQueryTool(
      call,
      {
        connection: approval.connection.name,
        sql: command.text,
        params: command.params ?? [],
        maxRows: MCP_DEFAULT_ROWS,
        approvalId: approval.id,
      },
      replayWait(waitMs, waiting)
    )
  },
}

function runQueryTool(call: ToolCall, input: QueryInput, replay?: ReplayWait) {
  return runToolSession(
    call,
    {
      tool: 'query',
      connection: input.connection,
      kinds: ['postgres'],
      arguments: {
        connection: input.connection,
        sql: input.sql,
        params: input.params,
      },
      ...(input.approvalId ? { approvalId: input.approvalId } : {}),
      ...replay,
    },
    async (session, held) => {
      const request = QueryRequest.parse({
        sql: input.sql,
        params: input.params,
        maxRows: input.maxRows,
      })
      const response = await runQuery(session, request, held.hold)
      return {
        result: response,
        summary: {
          command: response.command,
          rowCount: response.rowCount,
          truncated: response.truncated,
          ...(response.masked ? { masked: response.masked.by } : {}),
        },
      }
    }
  )
}
