#!/usr/bin/env node
// The local stack and the test services, as one command each:
//   node packages/local-stack/dist/cli.js up                 Postgres, Temporal, migrations, the four apps and
//                                                             Caddy in front of them (one origin, :8080)
//   node packages/local-stack/dist/cli.js test-services -- CMD   runs CMD with TEST_DATABASE_URL and
//                                                             TEST_TEMPORAL_ADDRESS pointing at fresh services
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey } from '@autoflow/crypto';
import { runMigrations } from '@autoflow/db';
import {
  APP_NAMES,
  formatLogLine,
  type ManagedProcess,
  REPO_ROOT,
  spawnApp,
  waitUntilReady,
} from './apps.js';
import { ensureDatabase, startEmbeddedPostgres } from './postgres.js';
import { caddyPath, startProxy } from './proxy.js';
import { StartedServices, StoppingError } from './started-services.js';
import { startTemporalDevServer } from './temporal-dev-server.js';
import { startTestServices } from './test-services.js';

const DATA_DIR = process.env.LOCAL_STACK_DATA_DIR || join(REPO_ROOT, '.data');
const DEV_PORTS = {
  'api-gateway': 3000,
  'oauth-service': 3001,
  'trigger-ingest': 3002,
  worker: 3003,
} as const;
/** The one origin every public route answers on (Caddy, infra/caddy/Caddyfile). */
const PROXY_PORT = Number(process.env.LOCAL_PROXY_PORT || 8080);
const PUBLIC_ORIGIN = `http://localhost:${PROXY_PORT}`;
const print = (source: string, line: string, color = 4) => console.log(formatLogLine(source, line, color));

interface DevSecrets {
  jwtSecret: string;
  encryptionKeys: string;
}

/** Generated once per checkout so that a second run still opens what the first one encrypted. */
async function devSecrets(): Promise<DevSecrets> {
  const file = join(DATA_DIR, 'dev-secrets.json');
  if (existsSync(file)) {
    const stored: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (
      typeof stored === 'object' &&
      stored !== null &&
      'jwtSecret' in stored &&
      typeof stored.jwtSecret === 'string' &&
      'encryptionKeys' in stored &&
      typeof stored.encryptionKeys === 'string'
    ) {
      return { jwtSecret: stored.jwtSecret, encryptionKeys: stored.encryptionKeys };
    }
    throw new Error(`${file} is not what this command wrote; delete it to generate new dev secrets`);
  }
  const secrets = { jwtSecret: generateKey(), encryptionKeys: `dev1:${generateKey()}` };
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

async function up(): Promise<void> {
  const services = new StartedServices();
  let exiting = false;
  // Every way out goes through here: Ctrl-C, a failed step, an app that exited.
  const shutdown = async (code: number) => {
    if (exiting) return;
    exiting = true;
    print('stack', 'stopping everything this command started');
    await services.stopAll((error) => print('stack', `stop failed: ${error}`));
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  try {
    await startStack(services, shutdown);
  } catch (error) {
    if (!(error instanceof StoppingError)) console.error(error);
    await shutdown(1);
  }
}

async function startStack(
  services: StartedServices,
  shutdown: (code: number) => Promise<void>,
): Promise<void> {
  await mkdir(DATA_DIR, { recursive: true });
  const caddy = caddyPath(process.env);
  if (!existsSync(caddy)) throw new Error(`no Caddy at ${caddy}: run scripts/bootstrap.sh or set CADDY_PATH`);
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const port = Number(process.env.LOCAL_POSTGRES_PORT ?? 54329);
    print('stack', `starting embedded Postgres on :${port} (data in ${join(DATA_DIR, 'postgres')})`);
    const postgres = await services.start(
      startEmbeddedPostgres({
        dataDir: join(DATA_DIR, 'postgres'),
        port,
        persistent: true,
        onLog: (line) => line && print('postgres', line, 2),
      }),
    );
    databaseUrl = await ensureDatabase(postgres.url, 'autoflow');
  }

  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const cliPath = process.env.TEMPORAL_CLI_PATH ?? join(REPO_ROOT, '.tools', 'bin', 'temporal');
    const port = Number(process.env.LOCAL_TEMPORAL_PORT || 7233);
    const uiPort = Number(process.env.LOCAL_TEMPORAL_UI_PORT ?? 8233);
    print(
      'stack',
      `starting the Temporal dev server on :${port}, ${uiPort ? `UI on http://localhost:${uiPort}` : 'no UI'} (data in ${join(DATA_DIR, 'temporal.sqlite')})`,
    );
    const temporal = await services.start(
      startTemporalDevServer({
        cliPath,
        port,
        ...(uiPort ? { uiPort } : {}),
        dbFile: join(DATA_DIR, 'temporal.sqlite'),
        inheritedEnv: process.env,
        onOutput: (line) => print('temporal', line, 1),
      }),
    );
    temporalAddress = temporal.address;
  }

  print('stack', 'applying migrations');
  await runMigrations(databaseUrl);

  const secrets = await devSecrets();
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
    JWT_SECRET: process.env.JWT_SECRET ?? secrets.jwtSecret,
    ENCRYPTION_KEYS: process.env.ENCRYPTION_KEYS ?? secrets.encryptionKeys,
    // Users see, and providers call back, the proxy's origin.
    PUBLIC_WEBHOOK_BASE_URL: process.env.PUBLIC_WEBHOOK_BASE_URL ?? PUBLIC_ORIGIN,
    OAUTH_CALLBACK_URL: process.env.OAUTH_CALLBACK_URL ?? `${PUBLIC_ORIGIN}/api/oauth2-credential/callback`,
    // The proxy on loopback names the client in X-Forwarded-For (per-address limits count real clients).
    TRUST_PROXY: process.env.TRUST_PROXY ?? 'loopback',
    // A frontend dev server (Vite's port); the console on the proxy's origin needs no CORS.
    CORS_ALLOWED_ORIGINS: process.env.CORS_ALLOWED_ORIGINS ?? 'http://localhost:5173',
    // The console (served by the proxy) is where a connect flow lands, then a frontend dev server.
    OAUTH_REDIRECT_ALLOWLIST:
      process.env.OAUTH_REDIRECT_ALLOWLIST ?? `${PUBLIC_ORIGIN},http://localhost:5173`,
  };
  const apps: ManagedProcess[] = APP_NAMES.map((name, index) => {
    const app = spawnApp({
      name,
      port: DEV_PORTS[name],
      env,
      inheritedEnv: process.env,
      onLine: (source, line) => print(source, line, index),
    });
    services.add(() => app.stop());
    return app;
  });
  for (const app of apps) {
    void app.exited.then((code) => {
      if (!services.stopping) {
        print('stack', `${app.name} exited with code ${code}; stopping the stack`);
        void shutdown(1);
      }
    });
  }
  await Promise.all(apps.map((app) => waitUntilReady(app)));
  print('stack', `starting Caddy on ${PUBLIC_ORIGIN} (infra/caddy/Caddyfile)`);
  const proxy = await services.start(
    startProxy({
      caddyPath: caddy,
      host: '127.0.0.1',
      port: PROXY_PORT,
      upstreams: {
        'api-gateway': `127.0.0.1:${DEV_PORTS['api-gateway']}`,
        'oauth-service': `127.0.0.1:${DEV_PORTS['oauth-service']}`,
        'trigger-ingest': `127.0.0.1:${DEV_PORTS['trigger-ingest']}`,
      },
      onOutput: (line) => print('caddy', line, 0),
    }),
  );
  proxy.process.once('exit', (code) => {
    if (!services.stopping) {
      print('stack', `Caddy exited with code ${code}; stopping the stack`);
      void shutdown(1);
    }
  });
  print(
    'stack',
    `ready: every public route on ${PUBLIC_ORIGIN} (/api, /api/oauth2-credential, /hooks, /push, /pubsub, /codec, API reference at /docs); the apps themselves on :3000–:3003 (health, /metrics). Ctrl-C stops everything.`,
  );
}

async function withTestServices(command: string[]): Promise<void> {
  if (command.length === 0) throw new Error('usage: test-services -- <command…>');
  const services = await startTestServices({
    databaseUrl: process.env.TEST_DATABASE_URL,
    temporalAddress: process.env.TEST_TEMPORAL_ADDRESS,
    temporalCliPath: process.env.TEMPORAL_CLI_PATH,
    inheritedEnv: process.env,
  });
  const child = spawn(command[0] ?? '', command.slice(1), {
    stdio: 'inherit',
    env: {
      ...process.env,
      TEST_DATABASE_URL: services.databaseUrl,
      TEST_TEMPORAL_ADDRESS: services.temporalAddress,
    },
  });
  const forwardSignal = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forwardSignal);
  process.on('SIGTERM', forwardSignal);
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (exitCode) => resolve(exitCode ?? 1)),
  );
  await services.stop();
  process.exit(code);
}

const [commandName, ...rest] = process.argv.slice(2);
const separator = rest.indexOf('--');
try {
  if (commandName === 'up') await up();
  else if (commandName === 'test-services')
    await withTestServices(separator >= 0 ? rest.slice(separator + 1) : rest);
  else {
    console.error('usage: cli.js up | test-services -- <command…>');
    process.exit(2);
  }
} catch (error) {
  console.error(error);
  process.exit(1);
}
