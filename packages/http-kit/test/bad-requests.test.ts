import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fastifyOptions, registerOpenApi, registerProblemHandlers } from '../src/index.js';

let app: FastifyInstance;

const routes: FastifyPluginAsyncZod = async (scoped) => {
  scoped.get(
    '/items/:id',
    { schema: { params: z.object({ id: z.coerce.number().int() }) } },
    async (request) => ({
      id: request.params.id,
    }),
  );
  scoped.post(
    '/items',
    { schema: { body: z.object({ name: z.string(), config: z.unknown() }) } },
    async () => ({
      ok: true,
    }),
  );
  scoped.get('/key-provider-down', async () => {
    // What @autoflow/crypto's Vault Transit client throws when Vault refuses or cannot be reached.
    throw Object.assign(new Error('Vault could not be reached: connect ECONNREFUSED'), {
      name: 'VaultError',
    });
  });
  scoped.get('/database-refuses', async () => {
    throw Object.assign(new Error('query failed'), {
      cause: Object.assign(new Error('invalid byte sequence'), { name: 'PostgresError', code: '22021' }),
    });
  });
};

beforeAll(async () => {
  app = Fastify(fastifyOptions({ logLevel: 'silent' }));
  await registerOpenApi(app, { title: 'test', description: 'test' });
  registerProblemHandlers(app);
  await app.register(routes);
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
});

interface Problem {
  code: string;
  detail: string;
  issues?: { path: unknown[] }[];
}

function problemOf(response: { headers: Record<string, unknown>; body: string }): Problem {
  expect(String(response.headers['content-type'])).toContain('application/problem+json');
  return JSON.parse(response.body);
}

describe('key provider errors', () => {
  it('answers 503 key_provider_unavailable when Vault is down, without its message', async () => {
    const response = await app.inject({ method: 'GET', url: '/key-provider-down' });
    expect(response.statusCode).toBe(503);
    expect(problemOf(response).code).toBe('key_provider_unavailable');
    expect(response.body).not.toContain('ECONNREFUSED');
  });
});

describe('framework errors', () => {
  it('answers bad percent-encoding with problem+json that does not echo the URL', async () => {
    for (const url of ['/items/%zz?token=hunter2', '/items/%C0%AE?token=hunter2']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(400);
      expect(problemOf(response).code).toBe('bad_url');
      expect(response.body).not.toContain('hunter2');
    }
  });

  it('answers a path parameter over the limit with 414 problem+json', async () => {
    const response = await app.inject({ method: 'GET', url: `/items/${'1'.repeat(150)}?token=hunter2` });
    expect(response.statusCode).toBe(414);
    expect(problemOf(response).code).toBe('path_parameter_too_long');
    expect(response.body).not.toContain('hunter2');
  });

  it('answers headers over 16 KiB with 431 problem+json, without a body for HEAD', async () => {
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const raw = (method: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
        socket.on('error', reject);
        socket.write(`${method} /items/1?x=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
      });
    const get = await raw('GET');
    expect(get).toMatch(/^HTTP\/1\.1 431 /);
    expect(get).toContain('application/problem+json');
    expect(get).toContain('"code":"headers_too_large"');
    const head = await raw('HEAD');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
  });
});

describe('request guards before the schema', () => {
  it('refuses U+0000 and lone surrogates with 400 naming the field', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      payload: { name: 'a\u0000', config: { k: ['\ud800'] } },
    });
    expect(response.statusCode).toBe(400);
    const problem = problemOf(response);
    expect(problem.code).toBe('validation_failed');
    expect(problem.issues?.map((issue) => issue.path.join('.')).sort()).toEqual([
      'body.config.k.0',
      'body.name',
    ]);
  });

  it('refuses a body nested 20,000 deep with 400 before zod recurses into it', async () => {
    const depth = 20_000;
    const payload = `{"name":"x","config":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).detail).toBe('the request nests too deep');
  });

  it('turns a data exception from Postgres into 400, not 500', async () => {
    const response = await app.inject({ method: 'GET', url: '/database-refuses' });
    expect(response.statusCode).toBe(400);
    expect(problemOf(response).code).toBe('invalid_value');
  });
});
