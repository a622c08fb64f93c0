/** Worker entry: the app. Durable Object classes and scheduled handlers are exported here too. */
import { app } from './app.ts'

export { ApprovalRequest } from './approvals/approval-request.do.ts'

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>
