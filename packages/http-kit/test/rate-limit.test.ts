import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerProblemHandlers } from '../src/problem.js';
import { type RateLimitCounter, SharedRateLimits } from '../src/rate-limit.js';
import { trustProxySchema } from '../src/trust-proxy.js';

/** The shared store's contract in memory: fixed windows per key (Postgres does this in one upsert). */
function memoryCounter(): RateLimitCounter & { keys: string[] } {
  const windows = new Map<string, { hits: number; resetsAt: number }>();
  return {
    keys: [],
    async hit(key, windowMs) {
      this.keys.push(key);
      const now = Date.now();
      const current = windows.get(key);
      const next =
        current && current.resetsAt > now
          ? { hits: current.hits + 1, resetsAt: current.resetsAt }
          : { hits: 1, resetsAt: now + windowMs };
      windows.set(key, next);
      return { hits: next.hits, resetsInMs: next.resetsAt - now };
    },
  };
}

async function limitedApp(counter: RateLimitCounter, trustProxy: false | string[] = false) {
  const app = Fastify({ trustProxy });
  registerProblemHandlers(app);
  const limits = new SharedRateLimits(counter);
  await limits.register(app);
  app.post(
    '/login',
    { config: limits.perAddress('login', { max: 2, windowMs: 60_000 }) },
    async (request, reply) => {
      const body = typeof request.body === 'object' && request.body !== null ? request.body : {};
      const email = 'email' in body ? String(body.email) : '';
      await limits.consume(reply, 'login', email, { max: 1, windowMs: 30_000 });
      return { ok: true };
    },
  );
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

describe('SharedRateLimits', () => {
  it('limits per address before the handler and per subject inside it, as 429 problem+json with Retry-After', async () => {
    const counter = memoryCounter();
    const app = await limitedApp(counter);
    const login = (email: string) => app.inject({ method: 'POST', url: '/login', payload: { email } });

    expect((await login('a@example.com')).statusCode).toBe(200);
    const sameAccount = await login('a@example.com');
    expect(sameAccount.statusCode).toBe(429);
    expect(sameAccount.headers['content-type']).toContain('application/problem+json');
    expect(sameAccount.json()).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(sameAccount.headers['retry-after'])).toBeGreaterThan(25);

    // The address is spent now (2 of 2): refused before the handler counts the new account.
    const third = await login('b@example.com');
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(55);
    expect(counter.keys.filter((key) => key.includes('b@example.com'))).toEqual([]);

    // Routes that ask for no limit have none.
    for (let probe = 0; probe < 5; probe++)
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });

  it('counts the forwarded client only behind a trusted proxy', async () => {
    const headers = (address: string) => ({ 'x-forwarded-for': address });
    const direct = await limitedApp(memoryCounter());
    const fromDirect = await Promise.all(
      ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((address, index) =>
        direct.inject({
          method: 'POST',
          url: '/login',
          payload: { email: `${index}@x.test` },
          headers: headers(address),
        }),
      ),
    );
    expect(fromDirect.map((answer) => answer.statusCode).sort()).toEqual([200, 200, 429]);

    const proxied = await limitedApp(memoryCounter(), ['127.0.0.1']);
    const fromProxy = await Promise.all(
      ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((address, index) =>
        proxied.inject({
          method: 'POST',
          url: '/login',
          payload: { email: `${index}@x.test` },
          headers: headers(address),
          remoteAddress: '127.0.0.1',
        }),
      ),
    );
    expect(fromProxy.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    await Promise.all([direct.close(), proxied.close()]);
  });

  it('fails closed when the store cannot be reached', async () => {
    const app = await limitedApp({
      hit: () => Promise.reject(new Error('connection refused')),
    });
    expect((await app.inject({ method: 'POST', url: '/login', payload: {} })).statusCode).toBe(500);
    await app.close();
  });
});

describe('trustProxySchema', () => {
  it('is off by default and for "false"', () => {
    expect(trustProxySchema.parse(undefined)).toBe(false);
    expect(trustProxySchema.parse('false')).toBe(false);
    expect(trustProxySchema.parse('')).toBe(false);
  });

  it('takes a hop count, as the nearest hops', () => {
    const trust = trustProxySchema.parse('2');
    expect(typeof trust).toBe('function');
    if (typeof trust !== 'function') return;
    expect([trust('10.0.0.1', 0), trust('10.0.0.2', 1), trust('203.0.113.9', 2)]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('takes addresses, CIDRs and range names, and refuses anything else', () => {
    expect(trustProxySchema.parse('10.0.0.0/8, ::1, loopback,192.168.1.7')).toEqual([
      '10.0.0.0/8',
      '::1',
      'loopback',
      '192.168.1.7',
    ]);
    for (const bad of ['true', '10.0.0.0/33', 'proxy.internal', '10.0.0.1/8/2', '::1/129'])
      expect(trustProxySchema.safeParse(bad).success, bad).toBe(false);
  });
});
