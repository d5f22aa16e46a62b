import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import {
  buildInertApp,
  GENERATED_FILES,
  generate,
  isJsonObject,
  type JsonObject,
  readCommitted,
} from '../src/index.js';

const committed = await readCommitted();
const document: unknown = JSON.parse(committed.document);

function objectAt(value: unknown, ...path: string[]): JsonObject {
  let current = value;
  for (const key of path) current = isJsonObject(current) ? current[key] : undefined;
  return isJsonObject(current) ? current : {};
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Every operation of the committed document, with its method and path template. */
const operations = Object.entries(objectAt(document, 'paths')).flatMap(([path, item]) =>
  Object.entries(objectAt(item))
    .filter(([method]) => HTTP_METHODS.has(method))
    .map(([method, operation]) => ({
      route: `${method.toUpperCase()} ${path}`,
      operation: objectAt(operation),
    })),
);

/** Whether an example is given anywhere in a value (a schema, a parameter, a media type). */
function hasExample(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasExample);
  if (!isJsonObject(value)) return false;
  if ('example' in value || 'examples' in value) return true;
  return Object.values(value).some(hasExample);
}

describe('the committed OpenAPI document', () => {
  it('is what the apps generate now (run `pnpm openapi` after changing a route)', async () => {
    const current = await generate();
    expect(current.document, `${GENERATED_FILES.document} is stale: run pnpm openapi`).toBe(
      committed.document,
    );
    expect(current.types, `${GENERATED_FILES.types} is stale: run pnpm openapi`).toBe(committed.types);
  });

  it('is valid OpenAPI 3.1 (@readme/openapi-parser)', async () => {
    const result = await validate(GENERATED_FILES.document);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.specification).toBe('OpenAPI');
    expect(objectAt(document).openapi).toBe('3.1.0');
  });

  it('covers every public route of the three apps', () => {
    const routes = operations.map(({ route }) => route);
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /api/auth/login',
        'GET /api/catalog',
        'POST /api/workflows/{id}/run',
        'GET /api/oauth2-credential/callback',
        'POST /api/oauth2-credential/complete',
        'POST /hooks/{hookId}',
        'POST /pubsub/gmail',
        'POST /codec/decode',
      ]),
    );
    expect(routes.filter((route) => /\/(healthz|readyz|metrics|docs|openapi\.json)/.test(route))).toEqual([]);
  });

  it('gives every operation a unique operationId, a summary and an example', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { route, operation } of operations) {
      expect(typeof operation.operationId, route).toBe('string');
      expect(typeof operation.summary, route).toBe('string');
      expect(hasExample(operation), `${route} has no example`).toBe(true);
    }
  });

  it('declares errors on every operation: 4xx and 5xx, 401 wherever a token is needed', () => {
    for (const { route, operation } of operations) {
      const statuses = Object.keys(objectAt(operation, 'responses'));
      expect(
        statuses.some((status) => status.startsWith('4')),
        `${route} declares no 4xx`,
      ).toBe(true);
      expect(statuses, route).toContain('500');
      const secured = Array.isArray(operation.security) && operation.security.length > 0;
      if (secured) expect(statuses, route).toContain('401');
      for (const status of statuses.filter((status) => /^[45]/.test(status))) {
        const content = objectAt(operation, 'responses', status, 'content');
        expect(Object.keys(content), `${route} ${status}`).toEqual(['application/problem+json']);
      }
    }
  });

  it('declares the errors each route can answer beyond the generic ones', () => {
    const statusesOf = (method: string, path: string) =>
      Object.keys(objectAt(document, 'paths', path, method, 'responses'));
    expect(statusesOf('get', '/api/workflows')).toContain('400'); // a bad cursor
    expect(statusesOf('get', '/api/workflows/{id}/executions')).toEqual(
      expect.arrayContaining(['400', '404']),
    );
    expect(statusesOf('post', '/api/auth/register')).toEqual(expect.arrayContaining(['409', '429']));
    expect(statusesOf('post', '/api/workflows/{id}/run')).toEqual(expect.arrayContaining(['422', '503']));
    expect(statusesOf('post', '/hooks/{hookId}')).toEqual(
      expect.arrayContaining(['400', '401', '404', '413', '422', '503']),
    );
  });

  it('lists no schema keyword as a query parameter, and documents redirects', () => {
    for (const { route, operation } of operations) {
      const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
      const names = parameters.map((parameter) => objectAt(parameter).name);
      for (const keyword of ['type', 'propertyNames', 'additionalProperties', 'properties'])
        expect(names, route).not.toContain(keyword);
    }
    for (const path of ['/api/oauth2-credential/auth', '/api/oauth2-credential/callback']) {
      const redirect = objectAt(document, 'paths', path, 'get', 'responses', '302');
      expect(Object.keys(objectAt(redirect, 'headers')), path).toContain('location');
    }
  });

  it('gives the catalog a response schema', () => {
    const schema = objectAt(
      document,
      'paths',
      '/api/catalog',
      'get',
      'responses',
      '200',
      'content',
      'application/json',
      'schema',
    );
    expect(Object.keys(objectAt(schema, 'properties'))).toEqual(['providers']);
  });
});

describe('/docs on api-gateway', () => {
  it('serves the merged document and its reference page without any outside asset', async () => {
    const app = await buildInertApp('api-gateway');
    try {
      const page = await app.inject({ url: '/docs/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      // Every script and stylesheet the page loads is served by the app itself (the machine may be offline).
      const assets = [...page.body.matchAll(/\b(?:src|href)=["']([^"']+)["']/g)].map((match) => match[1]);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) expect(asset).not.toMatch(/^(https?:)?\/\//);
      const script = await app.inject({ url: '/docs/js/scalar.js' });
      expect(script.statusCode).toBe(200);
      expect(script.body.length).toBeGreaterThan(100_000);
      const served = await app.inject({ url: '/docs/openapi.json' });
      expect(served.json()).toEqual(document);
    } finally {
      await app.close();
    }
  });
});
