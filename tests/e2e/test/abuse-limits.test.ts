import { createApiClient } from '@autoflow/client';
import { freePort, type ManagedProcess, spawnApp, waitUntilReady } from '@autoflow/local-stack';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { System } from '../src/system.js';

// The login limits keep their defaults (10 attempts per account and 15 minutes); registration per
// address is lowered so that its test stays short.
const REGISTER_MAX_PER_ADDRESS = 5;
let system: System;
const extraApps: ManagedProcess[] = [];

beforeAll(async () => {
  system = new System({
    allowedHosts: [],
    env: { AUTH_REGISTER_MAX_PER_ADDRESS: String(REGISTER_MAX_PER_ADDRESS) },
  });
  await system.start();
});

afterAll(async () => {
  await Promise.all(extraApps.map((app) => app.stop()));
  await system?.stop();
});

/** Another api-gateway process over the same database, as a second replica behind a load balancer. */
async function startReplica(env: Record<string, string> = {}): Promise<ManagedProcess> {
  const replica = spawnApp({
    name: 'api-gateway',
    port: await freePort(),
    env: { ...system.launched.env, ...env },
    inheritedEnv: process.env,
    onLine: (source, line) => system.logLines.push(`${source}-replica ${line}`),
  });
  extraApps.push(replica);
  await waitUntilReady(replica);
  return replica;
}

interface Answer {
  status: number;
  code: unknown;
  contentType: string;
  retryAfter: string | null;
}

/** Logs in or registers through the typed client against one replica's origin. */
async function post(
  baseUrl: string,
  path: '/api/auth/login' | '/api/auth/register',
  body: { email: string; password: string },
  headers: Record<string, string> = {},
) {
  const client = createApiClient({ baseUrl, headers });
  const { error, response } =
    path === '/api/auth/login' ? await client.POST(path, { body }) : await client.POST(path, { body });
  return {
    status: response.status,
    code: error?.code,
    contentType: response.headers.get('content-type') ?? '',
    retryAfter: response.headers.get('retry-after'),
  } satisfies Answer;
}

const gatewayUrl = () => system.url('api-gateway', '');
let accounts = 0;
const newEmail = () => `abuse-${++accounts}-${Date.now()}@example.com`;

it('answers 429 problem+json with Retry-After after 10 wrong passwords of one account, even for the right one', async () => {
  const email = newEmail();
  await system.signUp(email);
  const answers: Answer[] = [];
  const millis: number[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    const started = performance.now();
    answers.push(
      await post(gatewayUrl(), '/api/auth/login', { email, password: `wrong-password-${attempt}` }),
    );
    millis.push(performance.now() - started);
  }
  const mean = (values: number[]) =>
    (values.reduce((sum, value) => sum + value, 0) / values.length).toFixed(1);
  // For the report, not asserted: a limited attempt costs no password hash.
  console.log(
    `login: 401 answers took ${mean(millis.slice(0, 10))} ms on average, 429 answers ${mean(millis.slice(10))} ms`,
  );

  expect(answers.map((answer) => answer.status)).toEqual([
    ...Array.from({ length: 10 }, () => 401),
    ...Array.from({ length: 20 }, () => 429),
  ]);
  const limited = answers[29];
  expect(limited?.code).toBe('rate_limited');
  expect(limited?.contentType).toContain('application/problem+json');
  expect(Number(limited?.retryAfter)).toBeGreaterThan(0);
  expect(Number(limited?.retryAfter)).toBeLessThanOrEqual(15 * 60);
  // The account is closed to logins for the rest of the window, also to its owner: the price of a
  // per-account limit, and why it counts per window rather than locking the account.
  const owner = await post(gatewayUrl(), '/api/auth/login', { email, password: 'correct horse battery' });
  expect(owner.status).toBe(429);
});

it('holds the limit across two api-gateway processes on the same database, also for concurrent attempts', async () => {
  const replica = await startReplica();
  const email = newEmail();
  await system.signUp(email);
  // All at once, alternating between the replicas as a load balancer would.
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, attempt) =>
      post(attempt % 2 === 0 ? gatewayUrl() : replica.baseUrl, '/api/auth/login', {
        email,
        password: `wrong-password-${attempt}`,
      }),
    ),
  );
  const statuses = answers.map((answer) => answer.status);
  expect(statuses.filter((status) => status === 401)).toHaveLength(10);
  expect(statuses.filter((status) => status === 429)).toHaveLength(20);
  // Sequentially, on either replica, the account stays limited.
  for (const baseUrl of [gatewayUrl(), replica.baseUrl])
    expect((await post(baseUrl, '/api/auth/login', { email, password: 'wrong-password-x' })).status).toBe(
      429,
    );
});

it('limits registrations per client address, and reads X-Forwarded-For only behind a trusted proxy', async () => {
  // Not trusted: every request comes from 127.0.0.1 whatever the header claims.
  const untrusted: number[] = [];
  for (let attempt = 0; attempt < REGISTER_MAX_PER_ADDRESS + 1; attempt++) {
    const answer = await post(
      gatewayUrl(),
      '/api/auth/register',
      { email: newEmail(), password: 'correct horse battery' },
      { 'x-forwarded-for': `198.51.100.${attempt + 1}` },
    );
    untrusted.push(answer.status);
  }
  expect(untrusted.at(-1)).toBe(429);
  expect(untrusted.slice(untrusted.indexOf(429)).every((status) => status === 429)).toBe(true);

  // Behind a proxy on loopback: the client address is the forwarded one, each with its own budget.
  const behindProxy = await startReplica({ TRUST_PROXY: '127.0.0.1' });
  const register = (address: string) =>
    post(
      behindProxy.baseUrl,
      '/api/auth/register',
      { email: newEmail(), password: 'correct horse battery' },
      { 'x-forwarded-for': address },
    );
  const first: number[] = [];
  for (let attempt = 0; attempt < REGISTER_MAX_PER_ADDRESS + 1; attempt++)
    first.push((await register('203.0.113.10')).status);
  expect(first).toEqual([...Array.from({ length: REGISTER_MAX_PER_ADDRESS }, () => 201), 429]);
  expect((await register('203.0.113.11')).status).toBe(201);
  // The proxy's own address is still spent.
  const direct = await post(behindProxy.baseUrl, '/api/auth/register', {
    email: newEmail(),
    password: 'correct horse battery',
  });
  expect(direct.status).toBe(429);
});

it('limits how often one email can be tried at registration, so that email_taken cannot be farmed', async () => {
  const email = newEmail();
  const behindProxy = await startReplica({ TRUST_PROXY: '127.0.0.1' });
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    // A fresh client address each time: only the per-account limit can stop this.
    const answer = await post(
      behindProxy.baseUrl,
      '/api/auth/register',
      { email, password: 'correct horse battery' },
      { 'x-forwarded-for': `192.0.2.${attempt + 1}` },
    );
    statuses.push(answer.status);
  }
  expect(statuses).toEqual([201, 409, 409, 429, 429]);
});
