import { defineConfig } from 'drizzle-kit';

// `pnpm --filter @autoflow/db generate` writes a new migration after a schema change.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './migrations',
});
