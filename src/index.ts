/** Worker entry: the app. Durable Object classes and scheduled handlers are exported here too. */
import { app } from './app.ts'

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>
