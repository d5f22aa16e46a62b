import Fastify, { type FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  authenticate,
  createTokenService,
  fastifyOptions,
  problemResponse,
  problemResponses,
  problems,
  registerOpenApi,
  registerProblemHandlers,
} from '../src/index.js';

const tokens = createTokenService('a test secret that is long enough to sign with');
let app: FastifyInstance;
let document: unknown;

const routes: FastifyPluginAsyncZod = async (routeApp) => {
  routeApp.get(
    '/things/:id',
    {
      schema: {
        operationId: 'getThing',
        security: [{ bearer: [] }],
        params: z.object({ id: z.coerce.number().int() }),
        response: { 200: z.object({ id: z.number() }), ...problemResponses(404) },
      },
    },
    async (request) => {
      await authenticate(tokens, request);
      if (request.params.id !== 1) throw problems.notFound('thing');
      return { id: 1 };
    },
  );
  routeApp.post(
    '/things',
    {
      schema: { operationId: 'addThing', body: z.object({ name: z.string() }), response: { 201: z.null() } },
    },
    async (_request, reply) => reply.code(201).send(null),
  );
  routeApp.post(
    '/raw',
    {
      schema: {
        operationId: 'raw',
        consumes: ['*/*'],
        querystring: z.record(z.string(), z.string()),
        response: { 202: z.null(), 409: problemResponse(409, 'Refused for a reason of its own.') },
      },
    },
    async (_request, reply) => reply.code(202).send(null),
  );
  routeApp.get(
    '/away',
    { schema: { operationId: 'away', response: { 302: z.null().describe('Elsewhere.') } } },
    async (_request, reply) => reply.redirect('https://example.com/', 302),
  );
};

beforeAll(async () => {
  app = Fastify(fastifyOptions({ logLevel: 'silent' }));
  await registerOpenApi(app, { title: 'test', description: 'test' });
  registerProblemHandlers(app);
  await app.register(routes);
  await app.ready();
  document = (await app.inject({ url: '/openapi.json' })).json();
});

afterAll(() => app.close());

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path)
    current =
      typeof current === 'object' && current !== null
        ? Object.entries(current).find(([name]) => name === key)?.[1]
        : undefined;
  return current;
}

const statuses = (path: string, method: string) =>
  Object.keys(Object(at(document, 'paths', path, method, 'responses')));

describe('the OpenAPI document of an app', () => {
  it('declares the errors a route can answer before its handler runs', () => {
    // Secured, with a path parameter, no body: 401, 400, 414, and 408/431/500 everywhere.
    expect(statuses('/things/{id}', 'get').sort()).toEqual(
      ['200', '400', '401', '404', '408', '414', '431', '500'].sort(),
    );
    // A JSON body: 400, 413 and 415 from the parser; no token, no 401.
    expect(statuses('/things', 'post').sort()).toEqual(
      ['201', '400', '408', '413', '415', '431', '500'].sort(),
    );
    // Any content type read by the route itself: no 415.
    expect(statuses('/raw', 'post')).not.toContain('415');
  });

  it('describes errors as problem+json with the shared Problem schema, keeping a route’s own description', () => {
    const notFound = at(document, 'paths', '/things/{id}', 'get', 'responses', '404');
    expect(at(notFound, 'content', 'application/problem+json', 'schema', '$ref')).toBe(
      '#/components/schemas/Problem',
    );
    expect(at(document, 'components', 'schemas', 'Problem', 'properties', 'code', 'type')).toBe('string');
    expect(at(document, 'paths', '/raw', 'post', 'responses', '409', 'description')).toBe(
      'Refused for a reason of its own.',
    );
  });

  it('turns a free-form query into one exploded object parameter, not its schema keywords', () => {
    const parameters = at(document, 'paths', '/raw', 'post', 'parameters');
    expect(Array.isArray(parameters) ? parameters.map((parameter) => at(parameter, 'name')) : []).toEqual([
      'query',
    ]);
    expect(at(parameters, '0', 'style')).toBe('form');
    expect(at(parameters, '0', 'explode')).toBe(true);
  });

  it('declares the Location of redirects and the request id of every answer', () => {
    const redirect = at(document, 'paths', '/away', 'get', 'responses', '302');
    expect(Object.keys(Object(at(redirect, 'headers')))).toEqual(['x-request-id', 'location']);
    expect(at(document, 'paths', '/things', 'post', 'responses', '201', 'description')).toBe('Created.');
  });
});

describe('answers', () => {
  it('serializes a problem through its declared problem+json schema', async () => {
    const token = await tokens.issue(7);
    const answer = await app.inject({ url: '/things/2', headers: { authorization: `Bearer ${token}` } });
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.json()).toEqual({
      type: 'about:blank#not_found',
      title: 'Not found',
      status: 404,
      detail: 'thing not found',
      code: 'not_found',
    });
    const unauthorized = await app.inject({ url: '/things/1' });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.json().code).toBe('unauthorized');
  });
});
