import { readOpenApiDocument } from '@autoflow/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System } from '../src/system.js';

// The committed document (packages/client/openapi.json) is the contract: each running app must serve
// exactly its part of it, and api-gateway's /docs must show all of it.

const committed = readOpenApiDocument();
let system: System;

beforeAll(async () => {
  system = new System({ allowedHosts: [] });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
});

function entries(value: unknown): [string, unknown][] {
  return typeof value === 'object' && value !== null ? Object.entries(value) : [];
}

describe('the OpenAPI contract', () => {
  it('is what each running app serves, operation by operation', async () => {
    for (const app of ['api-gateway', 'oauth-service', 'trigger-ingest'] as const) {
      const served = await http('GET', system.url(app, '/openapi.json'));
      expect(served.status).toBe(200);
      const paths = entries(field(served.body, 'paths'));
      expect(paths.length, app).toBeGreaterThan(0);
      for (const [path, item] of paths) {
        for (const [method, operation] of entries(item))
          expect(
            operation,
            `${app} ${method} ${path} differs from the committed document: run pnpm openapi`,
          ).toEqual(field(committed, 'paths', path, method));
      }
      expect(field(served.body, 'components', 'schemas', 'Problem')).toEqual(
        field(committed, 'components', 'schemas', 'Problem'),
      );
    }
  });

  it('is browsable at /docs on api-gateway, with every app’s routes', async () => {
    const page = await http('GET', system.url('api-gateway', '/docs/'));
    expect(page.status).toBe(200);
    expect(page.contentType).toContain('text/html');
    const document = await http('GET', system.url('api-gateway', '/docs/openapi.json'));
    expect(document.body).toEqual(committed);
    expect(field(document.body, 'paths')).toHaveProperty(['/api/oauth2-credential/complete']);
    expect(field(document.body, 'paths')).toHaveProperty(['/hooks/{hookId}']);
  });

  it('types answers and errors through @autoflow/client', async () => {
    const anonymous = system.client();
    const refused = await anonymous.GET('/api/me');
    expect(refused.response.status).toBe(401);
    expect(refused.error?.code).toBe('unauthorized');

    const { token } = await system.signUp();
    const client = system.client(token);
    const me = await client.GET('/api/me');
    expect(me.data?.email).toMatch(/@example\.com$/);
    const catalog = await client.GET('/api/catalog');
    expect(catalog.data?.providers.map((provider) => provider.id)).toContain('webhook');
    const missing = await client.GET('/api/workflows/{id}', { params: { path: { id: 2_000_000 } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.code).toBe('not_found');
    const badCursor = await client.GET('/api/workflows', { params: { query: { cursor: 'not-a-cursor' } } });
    expect(badCursor.response.status).toBe(400);
    expect(badCursor.error?.issues?.[0]?.path).toEqual(['querystring', 'cursor']);
  });
});
