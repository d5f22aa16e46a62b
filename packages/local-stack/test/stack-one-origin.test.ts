import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../src/apps.js';
import { ensureNamespace } from '../src/namespaces.js';
import { createDatabase, dropDatabase } from '../src/postgres.js';
import { caddyPath } from '../src/proxy.js';

// `./scripts/stack` (the CLI's `up`) answers every public route on one origin, Caddy's: a slice through it.
const CLI = join(REPO_ROOT, 'packages', 'local-stack', 'dist', 'cli.js');
const TEMPORAL_CLI = process.env.TEMPORAL_CLI_PATH ?? join(REPO_ROOT, '.tools', 'bin', 'temporal');
const givenDatabase = process.env.TEST_DATABASE_URL;
const givenTemporal = process.env.TEST_TEMPORAL_ADDRESS;
const runnable =
  existsSync(caddyPath(process.env)) && (givenTemporal !== undefined || existsSync(TEMPORAL_CLI));

/** The action's target: records what it is sent. */
const received: string[] = [];
const sink = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push(Buffer.concat(chunks).toString('utf8'));
    response.end('{}');
  });
});

let origin = '';
let output: string[] = [];
let stop: () => Promise<void> = async () => {};

beforeAll(async () => {
  if (!runnable) return;
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkAddress = sink.address();
  const sinkPort = typeof sinkAddress === 'object' && sinkAddress ? sinkAddress.port : 0;
  const dataDir = await mkdtemp(join(tmpdir(), 'stack-origin-'));
  const proxyPort = await freePort();
  origin = `http://localhost:${proxyPort}`;
  const databaseName = `stack_origin_${randomBytes(4).toString('hex')}`;
  // On the shared test server, a namespace of its own; the dev server `up` starts has only `default`.
  const namespace = givenTemporal ? `stack-origin-${randomBytes(4).toString('hex')}` : 'default';
  if (givenTemporal) await ensureNamespace(givenTemporal, namespace);
  const env: Record<string, string> = {
    LOCAL_STACK_DATA_DIR: dataDir,
    LOCAL_PROXY_PORT: String(proxyPort),
    LOCAL_POSTGRES_PORT: String(await freePort()),
    LOCAL_TEMPORAL_PORT: String(await freePort()),
    LOCAL_TEMPORAL_UI_PORT: '0',
    TEMPORAL_CLI_PATH: TEMPORAL_CLI,
    TEMPORAL_ADDRESS: givenTemporal ?? '',
    TEMPORAL_NAMESPACE: namespace,
    HTTP_ACTION_ALLOWED_HOSTS: `127.0.0.1:${sinkPort}`,
    // The apps inherit it: no fixed port for the worker's SDK metrics beside other tests.
    TEMPORAL_METRICS_BIND_ADDRESS: 'off',
  };
  if (givenDatabase) env.DATABASE_URL = await createDatabase(givenDatabase, databaseName);
  const child = spawn(process.execPath, [CLI, 'up'], {
    env: { ...process.env, DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  output = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  stop = async () => {
    if (child.pid && child.exitCode === null) {
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    if (givenDatabase) await dropDatabase(givenDatabase, databaseName);
    await rm(dataDir, { recursive: true, force: true });
    await new Promise((resolve) => sink.close(resolve));
  };
  const deadline = Date.now() + 100_000;
  while (!output.join('').includes('ready: every public route')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the stack did not start:\n${output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 120_000);

afterAll(() => stop(), 60_000);

async function json(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${origin}${path}`, { redirect: 'manual', ...init });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  return {
    status: response.status,
    body: typeof parsed === 'object' && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {},
  };
}

it.skipIf(!runnable)(
  'answers every public prefix on the proxy origin and runs a webhook workflow through it',
  async () => {
    // Each prefix reaches its app (every app's answer carries x-request-id; the proxy's own 404 does not).
    const prefixes: [string, string, number][] = [
      ['GET', '/api/catalog', 401],
      ['GET', '/api/oauth2-credential/auth', 400],
      ['POST', '/hooks/no-such-hook-0000000000000000000', 404],
      ['POST', '/pubsub/gmail', 401],
      ['POST', '/push/slack', 401],
      ['GET', '/docs/openapi.json', 200],
    ];
    for (const [method, path, status] of prefixes) {
      const response = await fetch(`${origin}${path}`, { method, redirect: 'manual' });
      await response.arrayBuffer();
      expect([response.status, response.headers.has('x-request-id')], `${method} ${path}`).toEqual([
        status,
        true,
      ]);
    }
    const unrouted = await fetch(`${origin}/metrics`);
    await unrouted.arrayBuffer();
    expect([unrouted.status, unrouted.headers.has('x-request-id')]).toEqual([404, false]);
    // An unknown API path is still the API's own problem+json 404, never the console's page.
    const unknownApi = await fetch(`${origin}/api/no-such-route`);
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await unknownApi.arrayBuffer();
    // Every other path is the console: its files, or its index.html for the routes it handles itself.
    for (const path of ['/', '/workflows/new', '/runs/7']) {
      const page = await fetch(`${origin}${path}`);
      const html = await page.text();
      expect([page.status, page.headers.get('content-type'), html.includes('<div id="root">')], path).toEqual(
        [200, 'text/html; charset=utf-8', true],
      );
      expect(page.headers.get('content-security-policy'), path).toContain("connect-src 'self'");
    }

    const registered = await json('/api/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'stack@example.com', password: 'correct horse battery' }),
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const authorization = `Bearer ${String(registered.body.token)}`;
    const headers = { authorization, 'content-type': 'application/json' };
    const sinkAddress = sink.address();
    const sinkPort = typeof sinkAddress === 'object' && sinkAddress ? sinkAddress.port : 0;
    const created = await json('/api/workflows', {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'through the stack',
        trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
        action: {
          serviceProvider: 'http',
          actionId: 'request',
          config: {
            method: 'POST',
            url: `http://127.0.0.1:${sinkPort}/in`,
            body: { name: '{{trigger.body.name}}' },
          },
        },
      }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = Number(created.body.id);
    const webhook = created.body.webhook;
    const hookUrl =
      typeof webhook === 'object' && webhook !== null && 'url' in webhook ? String(webhook.url) : '';
    expect(hookUrl.startsWith(`${origin}/hooks/`), hookUrl).toBe(true);
    expect(
      (await json(`/api/workflows/${id}/activate`, { method: 'POST', headers: { authorization } })).status,
    ).toBe(200);

    const delivered = await fetch(hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada' }),
    });
    expect(delivered.status).toBe(202);
    const deadline = Date.now() + 30_000;
    let status = '';
    while (status !== 'completed' && Date.now() < deadline) {
      const listed = await json(`/api/workflows/${id}/executions`, { headers: { authorization } });
      const items = Array.isArray(listed.body.items) ? listed.body.items : [];
      const first: unknown = items[0];
      status = typeof first === 'object' && first !== null && 'status' in first ? String(first.status) : '';
      if (status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status, output.join('').slice(-3000)).toBe('completed');
    expect(received.map((body) => JSON.parse(body))).toEqual([{ name: 'Ada' }]);
  },
  90_000,
);
