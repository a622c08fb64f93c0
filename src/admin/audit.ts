/** Administrative changes are recorded like any session, so the audit trail has one shape. */
import { clientOf } from '../app-env.ts'
import type { Gateway } from '../pipeline/gateway.ts'
import type { Caller } from '../pipeline/types.ts'
import { SessionRecorder } from '../recorder/session-recorder.ts'

export function recordAdminAction(
  gateway: Gateway,
  admin: Caller,
  request: Request,
  action: string,
  details: Record<string, unknown>
): void {
  const recorder = new SessionRecorder(gateway, {
    protocol: 'admin',
    connectionName: 'admin',
    caller: admin,
    client: clientOf(request),
  })
  recorder.append('admin.action', { action, ...details })
  gateway.waitUntil(
    recorder
      .close()
      .catch((cause) => console.error('recording an admin action failed', { action, cause }))
  )
}
