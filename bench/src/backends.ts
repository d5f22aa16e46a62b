import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createDatabase,
  freePort,
  REPO_ROOT,
  startTemporalDevServer,
  TEMPORAL_DEV_SERVER_FLAGS,
  TEMPORAL_SERVER_ENV,
  waitForTemporal,
} from '@autoflow/local-stack';

const run = promisify(execFile);

export interface Backend {
  name: string;
  address: string;
  /** The server process, for CPU accounting. */
  pid: number | undefined;
  settings: Record<string, unknown>;
  stop(): Promise<void>;
}

/** The dev server as `scripts/stack` runs it: SQLite file (WAL), our tuned flags. */
export async function startDevBackend(cliPath: string): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-dev-'));
  const temporal = await startTemporalDevServer({
    cliPath,
    port: await freePort(),
    dbFile: join(dir, 'temporal.sqlite'),
    inheritedEnv: process.env,
  });
  return {
    name: 'dev-server (SQLite file)',
    address: temporal.address,
    pid: temporal.process.pid,
    settings: { flags: TEMPORAL_DEV_SERVER_FLAGS, environment: TEMPORAL_SERVER_ENV },
    async stop() {
      await temporal.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Temporal stores service ports in a smallint column: they must stay below 32768. */
async function lowFreePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** The real server runs the dynamic config compose ships, so that the bench measures what deploys. */
export const SERVER_DYNAMIC_CONFIG_PATH = join(REPO_ROOT, 'infra', 'temporal', 'dynamic-config.yaml');

export const SERVER_HISTORY_SHARDS = 4;

/**
 * The production shape: Temporal server 1.29.1 (built from Go modules) on Postgres, its schema set
 * up with temporal-sql-tool as the temporalio/auto-setup image does.
 */
export async function startPostgresBackend(baseDatabaseUrl: string): Promise<Backend> {
  const tools = join(REPO_ROOT, '.tools', 'temporal-server');
  const { stdout: modCache } = await run('go', ['env', 'GOMODCACHE']);
  const schemaRoot = join(modCache.trim(), 'go.temporal.io', 'server@v1.29.1', 'schema', 'postgresql', 'v12');
  const database = new URL(baseDatabaseUrl);
  const suffix = Math.random().toString(36).slice(2, 8);
  const databases = { default: `temporal_${suffix}`, visibility: `temporal_visibility_${suffix}` };
  const sqlTool = (db: string, ...args: string[]) =>
    run(join(tools, 'sql'), [
      '--plugin',
      'postgres12',
      '--ep',
      database.hostname,
      '-p',
      database.port || '5432',
      '-u',
      decodeURIComponent(database.username),
      '--pw',
      decodeURIComponent(database.password),
      '--db',
      db,
      ...args,
    ]);
  for (const [kind, name] of Object.entries(databases)) {
    await createDatabase(baseDatabaseUrl, name);
    await sqlTool(name, 'setup-schema', '-v', '0.0');
    await sqlTool(
      name,
      'update-schema',
      '-d',
      join(schemaRoot, kind === 'default' ? 'temporal' : 'visibility', 'versioned'),
    );
  }

  const root = await mkdtemp(join(tmpdir(), 'bench-temporal-'));
  await mkdir(join(root, 'config'));
  const ports = {
    frontend: await lowFreePort(),
    frontendHttp: await lowFreePort(),
    frontendMembership: await lowFreePort(),
    history: await lowFreePort(),
    historyMembership: await lowFreePort(),
    matching: await lowFreePort(),
    matchingMembership: await lowFreePort(),
    worker: await lowFreePort(),
    workerMembership: await lowFreePort(),
    metrics: await lowFreePort(),
  };
  const store = (name: string, maxConns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${name}
        connectAddr: "${database.hostname}:${database.port || '5432'}"
        connectProtocol: tcp
        user: "${decodeURIComponent(database.username)}"
        password: "${decodeURIComponent(database.password)}"
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  const dynamicConfig = await readFile(SERVER_DYNAMIC_CONFIG_PATH, 'utf8');
  await writeFile(join(root, 'dynamic-config.yaml'), dynamicConfig);
  await writeFile(
    join(root, 'config', 'bench.yaml'),
    `
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${SERVER_HISTORY_SHARDS}
  datastores:
    default:${store(databases.default, 20)}
    visibility:${store(databases.visibility, 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${ports.metrics}"
services:
  frontend:${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${ports.frontend}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "${join(root, 'dynamic-config.yaml')}"
  pollInterval: 10s
`,
  );
  const child = spawn(
    join(tools, 'server'),
    ['--root', root, '--config', 'config', '--env', 'bench', '--allow-no-auth', 'start'],
    { env: { ...process.env, ...TEMPORAL_SERVER_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const errors: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString('utf8')));
  child.stdout?.on('data', (chunk: Buffer) => errors.push(chunk.toString('utf8')));
  const address = `127.0.0.1:${ports.frontend}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    await waitForTemporal(address, 90_000);
  } catch (error) {
    await stop();
    throw new Error(`the Temporal server did not start: ${String(error)}\n${errors.join('').slice(-2000)}`);
  }
  return {
    name: `server 1.29.1 on Postgres (${SERVER_HISTORY_SHARDS} shards)`,
    address,
    pid: child.pid,
    settings: {
      historyShards: SERVER_HISTORY_SHARDS,
      environment: TEMPORAL_SERVER_ENV,
      dynamicConfig: dynamicConfig.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')),
    },
    stop,
  };
}
