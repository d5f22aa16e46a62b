import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.js';

export interface DatabaseOptions {
  /** Connections in the pool; each app sizes it for its own concurrency. */
  maxConnections?: number;
}

export function createDatabase(url: string, options: DatabaseOptions = {}) {
  const sql = postgres(url, {
    max: options.maxConnections ?? 10,
    // Migrations and Postgres itself talk in NOTICEs (e.g. "relation already exists, skipping").
    onnotice: () => {},
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    /** Answers whether Postgres responds; for /readyz. */
    async ping(): Promise<void> {
      await sql`select 1`;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

export type DatabaseHandle = ReturnType<typeof createDatabase>;
export type Database = DatabaseHandle['db'];
