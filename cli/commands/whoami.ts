/** `gatehouse whoami`: who the gateway takes the token for, and which connections it may use. */
import type { Command } from 'commander'
import { type GatehouseClient, GatewayError } from '../client.ts'
import { contextOf } from '../context.ts'
import { print, printJson } from '../output.ts'

type Whoami = {
  caller: {
    id: string
    name: string
    via: string
    email?: string
    idpGroups: string[]
    scope: string[]
    tokenId?: string
  }
  principals: string[]
  connections: { name: string; kind: string; description: string }[]
}

/** Adds `whoami`. */
export function registerWhoamiCommand(program: Command): void {
  program
    .command('whoami')
    .description('show the caller the token stands for and the connections it may use')
    .action(async (_options: object, command: Command) => {
      const { client, json } = contextOf(command)
      const me = await client.json<Whoami>('GET', '/v1/whoami').catch(async (error: unknown) => {
        // /v1/whoami is for data-path callers and refuses the admin token; say what it is instead.
        if (!(error instanceof GatewayError && error.code === 'auth.invalid_token')) throw error
        if (!(await isAdminToken(client))) throw error
        return undefined
      })
      if (me === undefined) {
        if (json) return printJson({ admin: true, dataPath: false })
        print('admin (the admin API accepts this token; it is not a data-path credential)')
        return
      }
      if (json) return printJson(me)
      const { caller } = me
      print(`${caller.id} (via ${caller.via}${caller.tokenId ? `, token ${caller.tokenId}` : ''})`)
      if (caller.email) print(`email:       ${caller.email}`)
      if (caller.idpGroups.length) print(`idp groups:  ${caller.idpGroups.join(', ')}`)
      print(`principals:  ${me.principals.join(', ') || '(none)'}`)
      print(`token scope: ${caller.scope.join(', ') || '(none)'}`)
      if (me.connections.length === 0) {
        print('connections: none usable (the token scope or the policy grants none)')
        return
      }
      print('connections:')
      for (const connection of me.connections) {
        const description = connection.description ? `  ${connection.description}` : ''
        print(`  ${connection.name} (${connection.kind})${description}`)
      }
    })
}

/** Whether the admin API accepts the client's token (one cheap read). */
async function isAdminToken(client: GatehouseClient): Promise<boolean> {
  return client.json('GET', '/v1/admin/policy/versions').then(
    () => true,
    () => false
  )
}
