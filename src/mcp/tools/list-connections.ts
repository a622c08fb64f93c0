/** `list_connections`: what the caller may reach, with each connection's tool and policy. */
import { z } from 'zod'
import { toolResult } from '../tool-result.ts'
import { KIND_TOOLS } from './kind-tools.ts'
import { defineTool, inputSchema } from './tool.ts'

const ListInput = z.object({}).strict()

export const listConnectionsTool = defineTool({
  name: 'list_connections',
  input: ListInput,
  definition: () => ({
    name: 'list_connections',
    title: 'List connections',
    description:
      'List the connections (databases, APIs, hosts) you may use through Gatehouse: name, kind, description, the tool that serves it, and its policy in plain words (what is allowed, blocked, or needs approval).',
    inputSchema: inputSchema(ListInput),
    annotations: { readOnlyHint: true, openWorldHint: false },
  }),
  async run(call) {
    return toolResult({
      connections: call.grants.map((grant) => ({
        name: grant.name,
        kind: grant.kind,
        description: grant.description,
        tool: KIND_TOOLS[grant.kind]?.name ?? null,
        policy: grant.policy,
      })),
    })
  },
})
