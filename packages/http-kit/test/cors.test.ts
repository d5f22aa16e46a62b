import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticate,
  CORS_ALLOWED_HEADERS,
  corsAllowedOriginsSchema,
  createTokenService,
  fastifyOptions,
  registerCors,
  registerOpenApi,
  registerProblemHandlers,
} from '../src/index.js';

const FRONTEND = 'https://app.example.com';
const tokens = createTokenService('t'.repeat(32));
let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify(fastifyOptions({ logLevel: 'silent' }));
  await registerOpenApi(app, { title: 'test', description: 'test' });
  registerProblemHandlers(app);
  await registerCors(app, {
    allowedOrigins: corsAllowedOriginsSchema.parse(`${FRONTEND}, http://localhost:5173`),
    pathPrefix: '/api/',
  });
  app.post('/api/complete', async (request) => ({ userId: await authenticate(tokens, request) }));
  app.get('/outside', async () => ({ ok: true }));
  await app.ready();
});

afterAll(() => app.close());

const preflight = (origin: string, url = '/api/complete') =>
  app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });

const corsHeaders = (headers: Record<string, unknown>) =>
  Object.keys(headers).filter((name) => name.startsWith('access-control-'));

describe('CORS for configured origins', () => {
  it('answers a preflight from an allowed origin with the methods and headers a bearer call needs', async () => {
    const answer = await preflight(FRONTEND);
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(FRONTEND);
    expect(String(answer.headers['access-control-allow-methods'])).toContain('POST');
    const allowedHeaders = String(answer.headers['access-control-allow-headers']).split(', ');
    expect(allowedHeaders).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(allowedHeaders).toEqual([...CORS_ALLOWED_HEADERS]);
    expect(answer.headers['access-control-max-age']).toBe('600');
    expect(answer.headers.vary).toContain('Origin');
    // Bearer tokens, no cookies: the browser is not told to send credentials.
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('lets the page read the answer and its request id, errors included', async () => {
    const token = await tokens.issue(7);
    const ok = await app.inject({
      method: 'POST',
      url: '/api/complete',
      headers: { origin: FRONTEND, authorization: `Bearer ${token}` },
    });
    expect(ok.json()).toEqual({ userId: 7 });
    expect(ok.headers['access-control-allow-origin']).toBe(FRONTEND);
    expect(String(ok.headers['access-control-expose-headers'])).toContain('x-request-id');
    const refused = await app.inject({ method: 'POST', url: '/api/complete', headers: { origin: FRONTEND } });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(FRONTEND);
  });

  it('gives another origin no CORS header at all, preflight or call', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.test', 'null']) {
      const answer = await preflight(origin);
      expect(answer.statusCode).toBe(404);
      expect(corsHeaders(answer.headers), origin).toEqual([]);
      const call = await app.inject({ method: 'POST', url: '/api/complete', headers: { origin } });
      expect(call.statusCode).toBe(401);
      expect(corsHeaders(call.headers), origin).toEqual([]);
    }
  });

  it('adds nothing outside the path prefix, nor without an Origin', async () => {
    const outside = await preflight(FRONTEND, '/outside');
    expect(outside.statusCode).toBe(404);
    expect(corsHeaders(outside.headers)).toEqual([]);
    const sameOrigin = await app.inject({ method: 'POST', url: '/api/complete' });
    expect(corsHeaders(sameOrigin.headers)).toEqual([]);
  });

  it('is off with no origin configured', async () => {
    const bare = Fastify(fastifyOptions({ logLevel: 'silent' }));
    registerProblemHandlers(bare);
    await registerCors(bare, { allowedOrigins: corsAllowedOriginsSchema.parse(''), pathPrefix: '/api/' });
    bare.post('/api/complete', async () => ({ ok: true }));
    const answer = await bare.inject({
      method: 'OPTIONS',
      url: '/api/complete',
      headers: { origin: FRONTEND, 'access-control-request-method': 'POST' },
    });
    expect(answer.statusCode).toBe(404);
    expect(corsHeaders(answer.headers)).toEqual([]);
    await bare.close();
  });
});

describe('CORS_ALLOWED_ORIGINS', () => {
  it('reads a comma-separated list of origins', () => {
    expect([...corsAllowedOriginsSchema.parse(' https://a.example ,http://localhost:5173,')]).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
    expect(corsAllowedOriginsSchema.parse(undefined).size).toBe(0);
  });

  it('refuses a wildcard, paths, trailing slashes and other schemes', () => {
    for (const value of ['*', 'https://a.example/', 'https://a.example/app', 'ftp://a.example', 'a.example'])
      expect(corsAllowedOriginsSchema.safeParse(value).success, value).toBe(false);
  });
});
