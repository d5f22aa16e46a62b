// One-shot: `pnpm migrate` (reads DATABASE_URL). Production runs this before rolling out apps.
import { runMigrations } from './migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}
await runMigrations(url);
console.log('migrations applied');
