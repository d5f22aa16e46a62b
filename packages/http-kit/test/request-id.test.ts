import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastifyOptions, ProblemError, registerOpenApi, registerProblemHandlers } from '../src/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let app: FastifyInstance;
const seenIds: string[] = [];

beforeAll(async () => {
  app = Fastify(fastifyOptions({ logLevel: 'silent' }));
  await registerOpenApi(app, { title: 'test', description: 'test' });
  registerProblemHandlers(app);
  app.get('/ok', async (request) => {
    seenIds.push(request.id);
    return { ok: true };
  });
  app.get('/items/:id', async () => ({ ok: true }));
  app.get('/refused', async () => {
    throw new ProblemError(409, 'refused', 'Conflict', 'no');
  });
  await app.ready();
});

afterAll(() => app.close());

describe('request ids', () => {
  it('keeps a well-formed x-request-id as the request id and returns it', async () => {
    const answer = await app.inject({ url: '/ok', headers: { 'x-request-id': 'req-123:abc' } });
    expect(answer.headers['x-request-id']).toBe('req-123:abc');
    expect(seenIds.at(-1)).toBe('req-123:abc');
  });

  it('generates a UUID when the header is absent, and a fresh one per request', async () => {
    const first = await app.inject({ url: '/ok' });
    const second = await app.inject({ url: '/ok' });
    expect(first.headers['x-request-id']).toMatch(UUID);
    expect(second.headers['x-request-id']).toMatch(UUID);
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });

  it('replaces a malformed id (too long, spaces, control or non-ASCII characters) and never echoes it', async () => {
    for (const malformed of ['x'.repeat(129), 'has space', 'has\ttab', 'caf\u00e9', '']) {
      const answer = await app.inject({ url: '/ok', headers: { 'x-request-id': malformed } });
      expect(answer.headers['x-request-id']).toMatch(UUID);
    }
    const longest = 'y'.repeat(128);
    expect(
      (await app.inject({ url: '/ok', headers: { 'x-request-id': longest } })).headers['x-request-id'],
    ).toBe(longest);
  });

  it('returns it on problem+json answers and on unknown routes', async () => {
    const refused = await app.inject({ url: '/refused', headers: { 'x-request-id': 'req-409' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['x-request-id']).toBe('req-409');
    const missing = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'req-404' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['x-request-id']).toBe('req-404');
    // A path the router refuses (not valid percent-encoding) answers through frameworkErrors.
    const badUrl = await app.inject({ url: '/items/%zz', headers: { 'x-request-id': 'req-400' } });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.headers['x-request-id']).toBe('req-400');
  });

  it('is declared on every response in the OpenAPI document', async () => {
    const document = JSON.stringify((await app.inject({ url: '/openapi.json' })).json());
    expect(document).toContain('"x-request-id":{"$ref":"#/components/headers/RequestId"}');
    expect(document).toContain('"RequestId":{"description"');
  });
});
