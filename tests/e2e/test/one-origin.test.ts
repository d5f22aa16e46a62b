import { randomBytes } from 'node:crypto';
import { createApiClient } from '@autoflow/client';
import { FakeOAuthServer, Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, oauthCallback, System, waitFor } from '../src/system.js';

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
  const registered = await viaProxy().POST('/api/auth/register', {
    body: { email: 'one-origin@example.com', password: 'correct horse battery' },
  });
  expect(registered.response.status, JSON.stringify(registered.error)).toBe(201);
  token = String(registered.data?.token);
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

/** The typed client on the proxy's origin, as `as`'s user when given. */
function viaProxy(as?: string, headers: Record<string, string> = {}) {
  return createApiClient({ baseUrl: system.origin, headers, ...(as ? { token: as } : {}) });
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
    const client = viaProxy(token);
    const { response: start } = await client.GET('/api/oauth2-credential/auth', {
      params: { query: { provider: 'gmail', redirectUrl: `${FRONTEND}/done` } },
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    const consentUrl = new URL(start.headers.get('location') ?? '');
    expect(consentUrl.href.startsWith(google.url('/authorize'))).toBe(true);
    expect(consentUrl.searchParams.get('redirect_uri')).toBe(at('/api/oauth2-credential/callback'));
    const consent = await fetch(consentUrl, { redirect: 'manual' });
    const callbackUrl = consent.headers.get('location') ?? '';
    expect(callbackUrl.startsWith(at('/api/oauth2-credential/callback?'))).toBe(true);
    const { response: callback } = await oauthCallback(callbackUrl);
    expect(callback.status).toBe(302);
    const landing = new URL(callback.headers.get('location') ?? '');
    expect(landing.origin).toBe(FRONTEND);
    expect(landing.searchParams.get('status')).toBe('pending');
    const completed = await client.POST('/api/oauth2-credential/complete', {
      body: { handle: landing.searchParams.get('handle') ?? '' },
    });
    expect(completed.response.status, JSON.stringify(completed.error)).toBe(200);
    const credentials = await client.GET('/api/credentials');
    expect(credentials.data?.items.map((credential) => credential.id)).toContain(
      completed.data?.credentialId,
    );

    // A webhook workflow: the hook URL the API shows is on the proxy's origin, and works there.
    const created = await client.POST('/api/workflows', {
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
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    const workflowId = Number(created.data?.id);
    const hookUrl = String(created.data?.webhook?.url);
    expect(hookUrl).toMatch(new RegExp(`^${at('/hooks/')}[A-Za-z0-9_-]{32}$`));
    const path = { params: { path: { id: workflowId } } };
    expect((await client.POST('/api/workflows/{id}/activate', path)).response.status).toBe(200);
    const delivered = await http('POST', hookUrl, {
      body: { name: 'Ada' },
      headers: { 'webhook-id': 'evt-through-proxy' },
    });
    expect(delivered.status, JSON.stringify(delivered.body)).toBe(202);

    const execution = await waitFor('the execution, listed through the proxy', async () => {
      const listed = await client.GET('/api/workflows/{id}/executions', path);
      expect(listed.response.status).toBe(200);
      return listed.data?.items.find((item) => item.status === 'completed');
    });
    expect(field(execution.triggerData, 'body')).toEqual({ name: 'Ada' });
    expect(sink.forPath('/ok').map((request) => request.body)).toEqual([{ name: 'Ada' }]);
  });

  it('routes each public prefix to the app that serves it, and nothing else', async () => {
    // Each call is sent without credentials, with its own request id; /api routes through the typed
    // client, the others (the codec, /docs, hooks, Pub/Sub) raw.
    const raw = (method: string, path: string) => (requestId: string) =>
      fetch(at(path), {
        method,
        headers: { 'x-request-id': requestId, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
    const typed = (requestId: string) => viaProxy(undefined, { 'x-request-id': requestId });
    const table: [route: string, app: string, send: (requestId: string) => Promise<Response>][] = [
      ['GET /api/me', 'api-gateway', async (id) => (await typed(id).GET('/api/me')).response],
      ['GET /api/workflows', 'api-gateway', async (id) => (await typed(id).GET('/api/workflows')).response],
      [
        'GET /api/oauth2-credential/auth',
        'oauth-service',
        async (id) =>
          (await typed(id).GET('/api/oauth2-credential/auth', { params: { query: { provider: 'gmail' } } }))
            .response,
      ],
      [
        'POST /api/oauth2-credential/complete',
        'oauth-service',
        async (id) =>
          (await typed(id).POST('/api/oauth2-credential/complete', { body: { handle: 'x' } })).response,
      ],
      ['POST /codec/decode', 'api-gateway', raw('POST', '/codec/decode')],
      ['GET /docs', 'api-gateway', raw('GET', '/docs')],
      ['POST /hooks/{hookId}', 'trigger-ingest', raw('POST', `/hooks/${'a'.repeat(32)}`)],
      ['POST /pubsub/gmail', 'trigger-ingest', raw('POST', '/pubsub/gmail')],
      ['POST /push/{provider}', 'trigger-ingest', raw('POST', '/push/slack')],
    ];
    for (const [route, app, send] of table) {
      const requestId = newRequestId();
      const answer = await send(requestId);
      if (!answer.bodyUsed) await answer.arrayBuffer();
      // An app answered (every app returns the request id) …
      expect(answer.headers.get('x-request-id'), route).toBe(requestId);
      // … and it is this one.
      const logged = await waitFor(`the log line of ${route}`, async () => {
        const apps = appsThatLogged(requestId);
        return apps.length > 0 ? apps : undefined;
      });
      expect(logged, route).toEqual([app]);
    }

    // Probes, metrics and the bare prefixes stay inside: the proxy answers them itself. '/api' is no
    // route of the document, so the typed client cannot (and need not) send it.
    for (const path of ['/metrics', '/healthz', '/readyz', '/api', '/hooks']) {
      const answer = await http('GET', at(path), { headers: { 'x-request-id': newRequestId() } });
      expect(answer.status, path).toBe(404);
      expect(answer.contentType, path).toBe('application/problem+json');
      expect(field(answer.body, 'detail'), path).toBe('no public route');
    }
    // Anything else is the console (apps/console): its index.html, which routes in the browser.
    for (const path of ['/', '/apis', '/workflows/new']) {
      const answer = await http('GET', at(path));
      expect([answer.status, answer.contentType], path).toEqual([200, 'text/html; charset=utf-8']);
      expect(String(answer.body), path).toContain('<div id="root"></div>');
    }
  });

  it('counts per-address limits against the client the proxy saw, not a forwarded address it claims', async () => {
    const login = async (headers: Record<string, string>, client = viaProxy()) =>
      (
        await client.POST('/api/auth/login', {
          body: { email: `nobody-${randomBytes(4).toString('hex')}@example.com`, password: 'wrong-password' },
          headers,
        })
      ).response;
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= LOGINS_PER_ADDRESS; attempt++)
      statuses.push((await login({ 'x-forwarded-for': `203.0.113.${attempt + 1}` })).status);
    // Caddy replaces the client's X-Forwarded-For: every attempt counts against the one real address.
    expect(statuses).toEqual([...Array<number>(LOGINS_PER_ADDRESS).fill(401), 429]);
    // The app does read X-Forwarded-For from its trusted proxy (TRUST_PROXY=loopback): a request that
    // names another client is counted apart (here sent straight to the app, which only the proxy should).
    const elsewhere = await login({ 'x-forwarded-for': '198.51.100.7' }, system.client());
    expect(elsewhere.status).toBe(401);
  });
});

describe('CORS through the proxy', () => {
  // A CORS preflight is the browser asking, not an API call: no route of the document is OPTIONS, so it
  // stays a raw fetch.
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
    const fromFrontend = viaProxy(token, { origin: FRONTEND });
    const started = await fromFrontend.GET('/api/oauth2-credential/auth', {
      params: { query: { provider: 'gmail', redirectUrl: `${FRONTEND}/done` } },
      headers: { accept: 'application/json' },
    });
    expect(started.response.status).toBe(200);
    const { response: withHeaders } = await fromFrontend.POST('/api/oauth2-credential/complete', {
      body: { handle: 'no-such-handle' },
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
      const { response: call } = await viaProxy(token, { origin }).GET('/api/workflows');
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
