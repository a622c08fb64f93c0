/**
 * One MCP server per HTTP request (stateless streamable HTTP: nothing lives in the isolate
 * between requests). Its tools come from what the caller is granted, read once per request
 * and only when tools are listed or called; every call goes through the gateway pipeline.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js'
import { type GrantedConnection, grantedConnections } from './grants.ts'
import { toolsFor } from './tools/registry.ts'
import type { McpRequestContext, McpTool } from './tools/tool.ts'

const SERVER_INFO = { name: 'gatehouse', title: 'Gatehouse', version: '0.1.0' }

const INSTRUCTIONS = [
  'Gatehouse is an access gateway: these tools reach databases and APIs on your behalf.',
  'Every call is checked against the policy before anything reaches the target and recorded;',
  'sensitive values come back masked. Call list_connections to see what you may use and what',
  'the policy allows. Errors start with a stable code (policy.blocked, access.denied, …); a',
  'command that needs human approval returns approval.pending with an approval id and link:',
  'tell the user, then call await_approval.',
].join(' ')

/**
 * The server never validates JSON Schema itself (it asks clients nothing), and workerd
 * forbids the code generation Ajv, the SDK's default validator, relies on.
 */
const NO_SCHEMA_VALIDATION: jsonSchemaValidator = {
  getValidator: () => () => ({
    valid: false,
    data: undefined,
    errorMessage: 'JSON Schema validation is not available on this server',
  }),
}

/**
 * A JSON-RPC error the SDK sends with this code and message as they are (its McpError
 * prefixes "MCP error <code>:" here, and the client's McpError prefixes it again).
 */
class ProtocolError extends Error {
  readonly code: number
  constructor(code: number, message: string) {
    super(message)
    this.code = code
  }
}

type Toolbox = { grants: GrantedConnection[]; tools: Map<string, McpTool> }

export function createMcpServer(context: McpRequestContext): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {} },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: NO_SCHEMA_VALIDATION,
  })
  let toolbox: Promise<Toolbox> | undefined
  const loadToolbox = () => {
    toolbox ??= grantedConnections(context.gateway, context.caller).then((grants) => ({
      grants,
      tools: toolsFor(grants),
    }))
    return toolbox
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const { grants, tools } = await loadToolbox()
    return { tools: [...tools.values()].map((tool) => tool.definition(grants)) }
  })

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { grants, tools } = await loadToolbox()
    const tool = tools.get(request.params.name)
    if (!tool) {
      // A protocol error (MCP: unknown tools are -32602), before anything is opened or recorded.
      throw new ProtocolError(
        ErrorCode.InvalidParams,
        `Unknown tool "${request.params.name}". Your tools: ${[...tools.keys()].join(', ')}.`
      )
    }
    return tool.call({ ...context, extra, grants }, request.params.arguments ?? {})
  })
  return server
}
