// drizzle-kit settings: `npm run db:generate` writes SQL migrations that wrangler applies.
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './migrations',
})
