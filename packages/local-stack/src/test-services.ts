import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from './apps.js';
import { startEmbeddedPostgres } from './postgres.js';
import { startTemporalDevServer } from './temporal-dev-server.js';

export interface TestServices {
  databaseUrl: string;
  temporalAddress: string;
  stop(): Promise<void>;
}

/**
 * Postgres and Temporal for a test run: the given ones (TEST_DATABASE_URL / TEST_TEMPORAL_ADDRESS),
 * otherwise a throwaway embedded Postgres and an in-memory Temporal dev server.
 * Tests then create their own databases and namespaces inside these, never touching dev data.
 */
export interface TestServicesOptions {
  /** An existing Postgres (TEST_DATABASE_URL); a throwaway embedded one when unset. */
  databaseUrl?: string | undefined;
  /** An existing Temporal frontend (TEST_TEMPORAL_ADDRESS); a throwaway dev server when unset. */
  temporalAddress?: string | undefined;
  /** The `temporal` binary for that dev server (TEMPORAL_CLI_PATH); `.tools/bin/temporal` when unset. */
  temporalCliPath?: string | undefined;
  /** What that dev server inherits (the caller's environment); nothing when unset. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  log?: (line: string) => void;
}

export async function startTestServices(options: TestServicesOptions = {}): Promise<TestServices> {
  const log = options.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of stops.reverse()) await stopOne().catch(() => {});
  };
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const dataDir = await mkdtemp(join(tmpdir(), 'autoflow-test-pg-'));
      const postgres = await startEmbeddedPostgres({
        dataDir,
        port: await freePort(),
        persistent: false,
        onLog: log,
      });
      stops.push(async () => {
        await postgres.stop();
        await rm(dataDir, { recursive: true, force: true });
      });
      databaseUrl = postgres.url;
    }
    let temporalAddress = options.temporalAddress;
    if (!temporalAddress) {
      const cliPath = options.temporalCliPath ?? join(REPO_ROOT, '.tools', 'bin', 'temporal');
      if (!existsSync(cliPath)) {
        throw new Error(
          `no Temporal CLI at ${cliPath}: run scripts/bootstrap.sh, or set TEMPORAL_CLI_PATH or TEST_TEMPORAL_ADDRESS`,
        );
      }
      const temporal = await startTemporalDevServer({
        cliPath,
        port: await freePort(),
        ...(options.inheritedEnv ? { inheritedEnv: options.inheritedEnv } : {}),
        onOutput: log,
      });
      stops.push(temporal.stop);
      temporalAddress = temporal.address;
    }
    return { databaseUrl, temporalAddress, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
