/** Worker entry: the app. Durable Object classes and scheduled handlers are exported here too. */
import { app } from './app.ts'
import { scheduled } from './scheduled.ts'

export { ApprovalRequest } from './approvals/approval-request.do.ts'
export { SessionControl } from './containment/session-control.do.ts'

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>
