/** /v1/admin/connections: register targets and their credentials (write-only). */
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { ConnectionInput } from '../connections/connection.ts'
import {
  deleteConnection,
  getConnection,
  listConnections,
  putConnection,
  viewConnection,
} from '../connections/store.ts'
import { GatehouseError } from '../errors.ts'
import { ConnectionName } from '../policy/document.ts'
import { recordAdminAction } from './audit.ts'
import { parseWith, readJson } from './body.ts'

export const connectionRoutes = new Hono<AppEnv>()

connectionRoutes.get('/', async (c) => {
  const rows = await listConnections(c.var.gateway.db)
  return c.json({ connections: rows.map(viewConnection) })
})

connectionRoutes.get('/:name', async (c) => {
  const row = await getConnection(c.var.gateway.db, c.req.param('name'))
  if (!row) throw notFound(c.req.param('name'))
  return c.json(viewConnection(row))
})

/** Create or replace. Omitting `credential` keeps the stored one; `null` removes it. */
connectionRoutes.put('/:name', async (c) => {
  const { gateway, caller } = c.var
  const name = parseWith(
    ConnectionName,
    c.req.param('name'),
    'request.invalid',
    'Invalid connection name'
  )
  const input = await readJson(c.req.raw, ConnectionInput)
  const { row, created } = await putConnection(
    gateway.db,
    name,
    input,
    gateway.config.credentialsKey,
    gateway.now()
  )
  recordAdminAction(
    gateway,
    caller,
    c.req.raw,
    created ? 'connection.create' : 'connection.update',
    {
      connection: name,
      kind: row.kind,
      target: row.target,
      credentialChanged: input.credential !== undefined,
    }
  )
  return c.json(viewConnection(row), created ? 201 : 200)
})

connectionRoutes.delete('/:name', async (c) => {
  const { gateway, caller } = c.var
  const name = c.req.param('name')
  if (!(await deleteConnection(gateway.db, name))) throw notFound(name)
  recordAdminAction(gateway, caller, c.req.raw, 'connection.delete', { connection: name })
  return c.body(null, 204)
})

function notFound(name: string): GatehouseError {
  return new GatehouseError('resource.not_found', `No connection named "${name}".`)
}
