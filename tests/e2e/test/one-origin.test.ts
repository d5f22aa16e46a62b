import { randomBytes } from 'node:crypto';
import { FakeOAuthServer, Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, listOf, System, waitFor } from '../src/system.js';

// The apps behind Caddy (infra/caddy/Caddyfile), as compose and ./scripts/stack run them: every public
// route on one origin, CORS for the configured frontend, and per-address limits that count the client
// the proxy saw rather than what the client claims.

const FRONTEND = 'http://frontend.test';
const TEMPORAL_UI = 'http://temporal-ui.test';
const LOGINS_PER_ADDRESS = 3;
const google = new FakeOAuthServer();
const sink = new Sink();
let system: System;
let token: string;

beforeAll(async () => {
  await google.start();
  await sink.start();
  system = new System({
    proxy: true,
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv(FRONTEND),
      CORS_ALLOWED_ORIGINS: FRONTEND,
      TEMPORAL_UI_ORIGIN: TEMPORAL_UI,
      AUTH_LOGIN_MAX_PER_ADDRESS: String(LOGINS_PER_ADDRESS),
    },
  });
  await system.start();
  const registered = await http('POST', at('/api/auth/register'), {
    body: { email: 'one-origin@example.com', password: 'correct horse battery' },
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  token = String(field(registered.body, 'token'));
});

afterAll(async () => {
  await system?.stop();
  await google.stop();
  await sink.stop();
});

/** A URL on the proxy's origin. */
function at(path: string): string {
  return `${system.origin}${path}`;
}

const newRequestId = () => `origin-${randomBytes(6).toString('hex')}`;

/** The apps whose logs carry this request id (Fastify logs every request with its id). */
function appsThatLogged(requestId: string): string[] {
  const apps = system.logLines
    .filter((line) => line.includes(`"reqId":"${requestId}"`))
    .map((line) => line.slice(0, line.indexOf(' ')));
  return [...new Set(apps)];
}

describe('one origin', () => {
  it('drives the whole slice through the proxy: sign-up, connect, webhook workflow, delivery, executions', async () => {
    // Connecting an account: /auth is oauth-service's, its 302 goes to the provider, whose consent
    // comes back to the callback on the same origin.
    const start = await fetch(
      at(
        `/api/oauth2-credential/auth?${new URLSearchParams({ provider: 'gmail', redirectUrl: `${FRONTEND}/done` })}`,
      ),
      { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' },
    );
    expect(start.status).toBe(302);
    const consentUrl = new URL(start.headers.get('location') ?? '');
    expect(consentUrl.href.startsWith(google.url('/authorize'))).toBe(true);
    expect(consentUrl.searchParams.get('redirect_uri')).toBe(at('/api/oauth2-credential/callback'));
    const consent = await fetch(consentUrl, { redirect: 'manual' });
    const callbackUrl = consent.headers.get('location') ?? '';
    expect(callbackUrl.startsWith(at('/api/oauth2-credential/callback?'))).toBe(true);
    const callback = await fetch(callbackUrl, { redirect: 'manual' });
    expect(callback.status).toBe(302);
    const landing = new URL(callback.headers.get('location') ?? '');
    expect(landing.origin).toBe(FRONTEND);
    expect(landing.searchParams.get('status')).toBe('pending');
    const completed = await http('POST', at('/api/oauth2-credential/complete'), {
      token,
      body: { handle: landing.searchParams.get('handle') },
    });
    expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    const credentials = await http('GET', at('/api/credentials'), { token });
    expect(listOf(credentials.body).map((credential) => field(credential, 'id'))).toContain(
      field(completed.body, 'credentialId'),
    );

    // A webhook workflow: the hook URL the API shows is on the proxy's origin, and works there.
    const created = await http('POST', at('/api/workflows'), {
      token,
      body: {
        name: 'through the proxy',
        trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
        action: {
          serviceProvider: 'http',
          actionId: 'request',
          config: { method: 'POST', url: `${sink.baseUrl}/ok`, body: { name: '{{trigger.body.name}}' } },
        },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const workflowId = Number(field(created.body, 'id'));
    const hookUrl = String(field(created.body, 'webhook', 'url'));
    expect(hookUrl).toMatch(new RegExp(`^${at('/hooks/')}[A-Za-z0-9_-]{32}$`));
    expect((await http('POST', at(`/api/workflows/${workflowId}/activate`), { token })).status).toBe(200);
    const delivered = await http('POST', hookUrl, {
      body: { name: 'Ada' },
      headers: { 'webhook-id': 'evt-through-proxy' },
    });
    expect(delivered.status, JSON.stringify(delivered.body)).toBe(202);

    const execution = await waitFor('the execution, listed through the proxy', async () => {
      const listed = await http('GET', at(`/api/workflows/${workflowId}/executions`), { token });
      expect(listed.status).toBe(200);
      return listOf(listed.body).find((item) => field(item, 'status') === 'completed');
    });
    expect(field(execution, 'triggerData', 'body')).toEqual({ name: 'Ada' });
    expect(sink.forPath('/ok').map((request) => request.body)).toEqual([{ name: 'Ada' }]);
  });

  it('routes each public prefix to the app that serves it, and nothing else', async () => {
    const table: [method: string, path: string, app: string][] = [
      ['GET', '/api/me', 'api-gateway'],
      ['GET', '/api/workflows', 'api-gateway'],
      ['GET', '/api/oauth2-credential/auth?provider=gmail', 'oauth-service'],
      ['POST', '/api/oauth2-credential/complete', 'oauth-service'],
      ['POST', '/codec/decode', 'api-gateway'],
      ['GET', '/docs', 'api-gateway'],
      ['POST', `/hooks/${'a'.repeat(32)}`, 'trigger-ingest'],
      ['POST', '/pubsub/gmail', 'trigger-ingest'],
    ];
    for (const [method, path, app] of table) {
      const requestId = newRequestId();
      const answer = await fetch(at(path), {
        method,
        headers: { 'x-request-id': requestId, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      await answer.arrayBuffer();
      // An app answered (every app returns the request id) …
      expect(answer.headers.get('x-request-id'), `${method} ${path}`).toBe(requestId);
      // … and it is this one.
      const logged = await waitFor(`the log line of ${method} ${path}`, async () => {
        const apps = appsThatLogged(requestId);
        return apps.length > 0 ? apps : undefined;
      });
      expect(logged, `${method} ${path}`).toEqual([app]);
    }

    // Probes, metrics and anything unrouted stay inside: the proxy answers them itself.
    for (const path of ['/', '/metrics', '/healthz', '/readyz', '/apis', '/api', '/hooks']) {
      const answer = await http('GET', at(path), { headers: { 'x-request-id': newRequestId() } });
      expect(answer.status, path).toBe(404);
      expect(answer.contentType, path).toBe('application/problem+json');
      expect(field(answer.body, 'detail'), path).toBe('no public route');
    }
  });

  it('counts per-address limits against the client the proxy saw, not a forwarded address it claims', async () => {
    const login = (headers: Record<string, string>, url = at('/api/auth/login')) =>
      http('POST', url, {
        body: { email: `nobody-${randomBytes(4).toString('hex')}@example.com`, password: 'wrong-password' },
        headers,
      });
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= LOGINS_PER_ADDRESS; attempt++)
      statuses.push((await login({ 'x-forwarded-for': `203.0.113.${attempt + 1}` })).status);
    // Caddy replaces the client's X-Forwarded-For: every attempt counts against the one real address.
    expect(statuses).toEqual([...Array<number>(LOGINS_PER_ADDRESS).fill(401), 429]);
    // The app does read X-Forwarded-For from its trusted proxy (TRUST_PROXY=loopback): a request that
    // names another client is counted apart (here sent straight to the app, which only the proxy should).
    const elsewhere = await login(
      { 'x-forwarded-for': '198.51.100.7' },
      system.url('api-gateway', '/api/auth/login'),
    );
    expect(elsewhere.status).toBe(401);
  });
});

describe('CORS through the proxy', () => {
  const preflight = (path: string, origin: string, method = 'POST') =>
    fetch(at(path), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization,content-type',
      },
    });
  const corsHeaderNames = (response: Response) =>
    [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));

  it('answers preflights from the configured frontend on both apps behind /api', async () => {
    for (const [path, method] of [
      ['/api/workflows', 'POST'],
      ['/api/oauth2-credential/complete', 'POST'],
      ['/api/oauth2-credential/auth', 'GET'],
    ] as const) {
      const answer = await preflight(path, FRONTEND, method);
      expect(answer.status, path).toBe(204);
      expect(answer.headers.get('access-control-allow-origin'), path).toBe(FRONTEND);
      expect(answer.headers.get('access-control-allow-methods'), path).toContain(method);
      expect(answer.headers.get('access-control-allow-headers'), path).toContain('authorization');
      expect(answer.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
  });

  it('lets the frontend read the OAuth start and completion answers, errors included', async () => {
    const started = await http(
      'GET',
      at(
        `/api/oauth2-credential/auth?${new URLSearchParams({ provider: 'gmail', redirectUrl: `${FRONTEND}/done` })}`,
      ),
      { token, headers: { origin: FRONTEND, accept: 'application/json' } },
    );
    expect(started.status).toBe(200);
    const withHeaders = await fetch(at('/api/oauth2-credential/complete'), {
      method: 'POST',
      headers: { origin: FRONTEND, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'no-such-handle' }),
    });
    expect(withHeaders.status).toBe(404);
    expect(withHeaders.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(withHeaders.headers.get('access-control-expose-headers')).toContain('x-request-id');
  });

  it('gives any other origin no CORS header', async () => {
    for (const origin of ['http://evil.test', 'http://frontend.test.evil.test']) {
      for (const path of ['/api/workflows', '/api/oauth2-credential/complete']) {
        const answer = await preflight(path, origin);
        expect(answer.status, `${origin} ${path}`).toBe(404);
        expect(corsHeaderNames(answer), `${origin} ${path}`).toEqual([]);
      }
      const call = await fetch(at('/api/workflows'), {
        headers: { origin, authorization: `Bearer ${token}` },
      });
      expect(call.status).toBe(200);
      expect(corsHeaderNames(call)).toEqual([]);
    }
  });

  it('keeps the codec endpoint’s own CORS for the Temporal UI only', async () => {
    const fromUi = await preflight('/codec/decode', TEMPORAL_UI);
    expect(fromUi.status).toBe(204);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI);
    expect(fromUi.headers.get('access-control-allow-credentials')).toBe('true');
    const fromFrontend = await preflight('/codec/decode', FRONTEND);
    expect(fromFrontend.status).toBe(403);
    expect(corsHeaderNames(fromFrontend)).toEqual([]);
  });
});
