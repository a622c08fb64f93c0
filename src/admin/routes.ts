/** The admin API, mounted at /v1/admin behind `requireAdmin`. */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from '../app-env.ts'
import { GatehouseError } from '../errors.ts'
import { requireAdmin } from '../identity/middleware.ts'
import { approvalAdminRoutes } from './approvals.ts'
import { auditEventRoutes } from './audit-events.ts'
import { connectionRoutes } from './connections.ts'
import { containmentRoutes } from './containment.ts'
import { policyRoutes } from './policy.ts'
import { sessionRoutes } from './sessions.ts'
import { tokenRoutes } from './tokens.ts'

/** Policy documents and connection definitions are small; anything bigger is a mistake. */
const MAX_ADMIN_BODY_BYTES = 1024 * 1024

export const adminRoutes = new Hono<AppEnv>()

adminRoutes.use(requireAdmin)
adminRoutes.use(
  bodyLimit({
    maxSize: MAX_ADMIN_BODY_BYTES,
    onError: () => {
      throw new GatehouseError(
        'request.too_large',
        `Admin request bodies are limited to ${MAX_ADMIN_BODY_BYTES} bytes.`
      )
    },
  })
)
adminRoutes.route('/tokens', tokenRoutes)
adminRoutes.route('/connections', connectionRoutes)
adminRoutes.route('/policy', policyRoutes)
adminRoutes.route('/sessions', sessionRoutes)
adminRoutes.route('/approvals', approvalAdminRoutes)
adminRoutes.route('/audit', auditEventRoutes)
adminRoutes.route('/', containmentRoutes)
