// n8n as the peer in `pnpm bench -- --peer n8n`: installed once into the git-ignored .tools/n8n (never
// into the repository), started in main mode over its own database on the bench's Postgres, with the
// same workflow as the system's (webhook → HTTP request to the sink) set up through its REST API.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDatabase, dropDatabase, freePort, REPO_ROOT } from '@autoflow/local-stack';
import type { OpenLoopTarget } from './openloop.js';
import { Rendezvous, startSink } from './system.js';

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('expected a JSON object');
  return Object.fromEntries(Object.entries(value));
}

const run = promisify(execFile);

/** 2.41+ needs a package the npm registry here does not serve. */
export const N8N_VERSION = '2.40.7';
const N8N_DIR = join(REPO_ROOT, '.tools', 'n8n');
const N8N_PACKAGE = join(N8N_DIR, 'node_modules', 'n8n');

/** Installs n8n into .tools/n8n unless that version is there already; returns its entry point. */
export async function installN8n(log: (message: string) => void): Promise<string> {
  const manifest = join(N8N_PACKAGE, 'package.json');
  const installed = existsSync(manifest)
    ? String(record(JSON.parse(await readFile(manifest, 'utf8'))).version)
    : '';
  if (installed !== N8N_VERSION) {
    log(`installing n8n ${N8N_VERSION} into ${N8N_DIR} (once; a few minutes)`);
    // --ignore-scripts: the Kafka client's native build fails here, and nothing we use needs it.
    await run(
      'npm',
      [
        'install',
        '--prefix',
        N8N_DIR,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `n8n@${N8N_VERSION}`,
      ],
      { maxBuffer: 64 * 2 ** 20 },
    );
  }
  return join(N8N_PACKAGE, 'bin', 'n8n');
}

export interface N8nPeer {
  version: string;
  settings: Record<string, string>;
  pid: number | undefined;
  openLoopTarget: OpenLoopTarget;
  stop(): Promise<void>;
}

/** Outbound modules off: nothing reaches the internet, and nothing runs that the workflow does not use. */
const N8N_ENV = {
  N8N_DISABLED_MODULES: 'mcp-registry,insights,instance-ai,agents,chat-hub,workflow-builder,promotions',
  N8N_DIAGNOSTICS_ENABLED: 'false',
  N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
  N8N_PERSONALIZATION_ENABLED: 'false',
  N8N_TEMPLATES_ENABLED: 'false',
  // Main mode: the process that takes the webhook runs the workflow (no queue, no workers).
  EXECUTIONS_MODE: 'regular',
};

const OWNER = {
  email: 'bench@example.com',
  firstName: 'Bench',
  lastName: 'Mark',
  password: 'Benchmark-password-1',
};

async function waitUntilReady(
  base: string,
  child: ChildProcess,
  output: string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    const status = await fetch(`${base}/healthz/readiness`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`n8n did not become ready:\n${output.join('').slice(-3000)}`);
}

export async function startN8nPeer(
  entry: string,
  baseDatabaseUrl: string,
  log: (message: string) => void,
): Promise<N8nPeer> {
  const arrivals = new Rendezvous<number>();
  const sink = await startSink(arrivals, /"seq":"?([\w-]+)/);
  const databaseName = `n8n_${Math.random().toString(36).slice(2, 8)}`;
  await createDatabase(baseDatabaseUrl, databaseName);
  const database = new URL(baseDatabaseUrl);
  const userFolder = await mkdtemp(join(tmpdir(), 'bench-n8n-'));
  const port = await freePort();
  const child = spawn(process.execPath, [entry, 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: userFolder,
      N8N_USER_FOLDER: userFolder,
      N8N_PORT: String(port),
      N8N_LISTEN_ADDRESS: '127.0.0.1',
      N8N_HOST: '127.0.0.1',
      N8N_SECURE_COOKIE: 'false',
      N8N_ENCRYPTION_KEY: randomUUID(),
      N8N_LOG_LEVEL: 'warn',
      DB_TYPE: 'postgresdb',
      DB_POSTGRESDB_HOST: database.hostname,
      DB_POSTGRESDB_PORT: database.port || '5432',
      DB_POSTGRESDB_DATABASE: databaseName,
      DB_POSTGRESDB_USER: decodeURIComponent(database.username),
      DB_POSTGRESDB_PASSWORD: decodeURIComponent(database.password),
      ...N8N_ENV,
    },
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    await dropDatabase(baseDatabaseUrl, databaseName).catch(() => {});
    await rm(userFolder, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    log(`n8n: starting on port ${port}`);
    await waitUntilReady(base, child, output, 300_000);

    // The owner account, then its session cookie (bound to the browser-id header) for the REST calls.
    const browserId = 'bench';
    const setup = await fetch(`${base}/rest/owner/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'browser-id': browserId },
      body: JSON.stringify(OWNER),
    });
    if (!setup.ok) throw new Error(`n8n owner setup answered ${setup.status}: ${await setup.text()}`);
    const cookie = (setup.headers.getSetCookie().find((value) => value.startsWith('n8n-auth=')) ?? '').split(
      ';',
    )[0];
    const headers = { 'content-type': 'application/json', 'browser-id': browserId, cookie: cookie ?? '' };

    const path = `bench-${randomUUID()}`;
    const created = await fetch(`${base}/rest/workflows`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'bench',
        active: false,
        settings: {},
        nodes: [
          {
            id: randomUUID(),
            name: 'Webhook',
            type: 'n8n-nodes-base.webhook',
            typeVersion: 2,
            position: [0, 0],
            webhookId: randomUUID(),
            // Answers on receipt, as trigger-ingest answers 202 once Temporal has the run.
            parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
          },
          {
            id: randomUUID(),
            name: 'HTTP Request',
            type: 'n8n-nodes-base.httpRequest',
            typeVersion: 4.2,
            position: [220, 0],
            parameters: {
              method: 'POST',
              url: `http://${sink.hostPort}/sink`,
              sendBody: true,
              specifyBody: 'json',
              jsonBody: '={{ JSON.stringify({ seq: $json.body.seq }) }}',
              options: {},
            },
          },
        ],
        connections: { Webhook: { main: [[{ node: 'HTTP Request', type: 'main', index: 0 }]] } },
      }),
    });
    if (!created.ok)
      throw new Error(`n8n workflow create answered ${created.status}: ${await created.text()}`);
    const workflow = record(record(await created.json()).data);
    const activated = await fetch(`${base}/rest/workflows/${String(workflow.id)}/activate`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ versionId: workflow.versionId }),
    });
    if (!activated.ok)
      throw new Error(`n8n workflow activate answered ${activated.status}: ${await activated.text()}`);
    // The production webhook is registered shortly after activation: probe until it answers, then warm
    // up with sequential events as the system is warmed by its closed loops before the open loop.
    const hook = `${base}/webhook/${path}`;
    const send = async (eventId: string) => {
      const response = await fetch(hook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seq: eventId }),
      });
      await response.arrayBuffer();
      return response.status;
    };
    const registeredBy = Date.now() + 30_000;
    while ((await send('n8n-probe')) !== 200) {
      if (Date.now() > registeredBy) throw new Error('the n8n webhook was not registered within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (let warm = 0; warm < 20; warm++) {
      const arrived = arrivals.wait(`n8n-warm-${warm}`);
      await send(`n8n-warm-${warm}`);
      await arrived;
    }
    log('n8n: workflow active and warmed up');

    return {
      version: N8N_VERSION,
      settings: {
        ...N8N_ENV,
        DB_TYPE: 'postgresdb',
        workflow: 'Webhook (respond on receipt) → HTTP Request',
      },
      pid: child.pid,
      openLoopTarget: {
        acceptedStatus: 200,
        arrivals,
        processes: () => ({ n8n: child.pid }),
        send,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
