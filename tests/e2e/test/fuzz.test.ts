import { request as httpRequest } from 'node:http';
import { Sink } from '@autoflow/fakes';
import type { AppName } from '@autoflow/local-stack';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, listOf, System } from '../src/system.js';

// Issue 11, item 4: a property-based fuzz test driven by each app's own OpenAPI document (/docs). Random
// and malformed paths, ids, query strings, headers and bodies go to every route of every app; no answer
// may be a 5xx, and every 4xx is problem+json with a `code`.
//
// FUZZ_RUNS sets the cases per app (default 1000: about a minute for the file on two cores, start included); FUZZ_SEED
// replays a run (fast-check prints the seed and the shrunk counterexample of a failure).

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

interface Operation {
  method: string;
  /** OpenAPI template, e.g. /api/workflows/{id}. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  bodySchema: unknown;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

const sink = new Sink();
let system: System;
/** Values that reach past validation: real ids, a real token, installed provider ids. */
const known = {
  tokens: [] as string[],
  ids: [] as string[],
  hookIds: [] as string[],
  strings: [] as string[],
};
const operations = new Map<AppName, Operation[]>();

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
  const { token } = await system.signUp();
  known.tokens.push(token, `${token}x`, 'not-a-jwt');
  const catalog = await system.api('GET', '/api/catalog', { token });
  for (const provider of listOf(catalog.body, 'providers')) {
    known.strings.push(String(field(provider, 'id')));
    for (const part of [...listOf(provider, 'triggers'), ...listOf(provider, 'actions')])
      known.strings.push(String(field(part, 'id')));
  }
  known.strings.push(`${sink.baseUrl}/ok`, 'gmail', 'slack', 'https://example.com/');
  for (const trigger of ['webhook', 'manual'] as const) {
    const created = await system.api('POST', '/api/workflows', {
      token,
      body: {
        name: `fuzz ${trigger}`,
        trigger: {
          serviceProvider: trigger,
          triggerId: trigger === 'webhook' ? 'receive' : 'run',
          config: {},
        },
        action: { serviceProvider: 'http', actionId: 'request', config: { url: `${sink.baseUrl}/ok` } },
      },
    });
    const id = String(field(created.body, 'id'));
    known.ids.push(id);
    await system.api('POST', `/api/workflows/${id}/activate`, { token });
    const hookUrl = field(created.body, 'webhook', 'url');
    if (typeof hookUrl === 'string') known.hookIds.push(hookUrl.split('/').at(-1) ?? '');
  }
  for (const app of ['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'] as const) {
    operations.set(app, await operationsOf(app));
  }
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
});

/** The routes an app documents at /docs, plus the health routes every app has (hidden there). */
async function operationsOf(app: AppName): Promise<Operation[]> {
  const health: Operation[] = ['/healthz', '/readyz'].map((path) => ({
    method: 'GET',
    path,
    pathParams: [],
    queryParams: [],
    bodySchema: undefined,
  }));
  const docs = await send(app, { method: 'GET', path: '/docs', headers: {}, body: undefined });
  if (docs.status !== 200) return health; // the worker serves no API
  const document: unknown = JSON.parse(docs.text);
  const paths = field(document, 'paths');
  const found: Operation[] = [];
  for (const [path, item] of Object.entries(typeof paths === 'object' && paths !== null ? paths : {})) {
    for (const [method, operation] of Object.entries(typeof item === 'object' && item !== null ? item : {})) {
      const parameters = listOf(operation, 'parameters');
      const named = (where: string) =>
        parameters
          .filter((parameter) => field(parameter, 'in') === where)
          .map((p) => String(field(p, 'name')));
      found.push({
        method: method.toUpperCase(),
        path,
        pathParams: named('path'),
        queryParams: named('query'),
        bodySchema: field(operation, 'requestBody', 'content', 'application/json', 'schema'),
      });
    }
  }
  expect(found.length, `${app} documents its routes`).toBeGreaterThan(0);
  return [...found, ...health];
}

/** Sends exactly these bytes (fetch would normalise the path), and never follows a redirect. */
function send(app: AppName, fuzz: FuzzRequest): Promise<Answer> {
  const base = new URL(system.url(app, '/'));
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: fuzz.method,
        path: fuzz.path,
        // A fresh connection each time: a kept-alive one the server closes when idle would read as a reset.
        agent: false,
        headers: {
          ...fuzz.headers,
          ...(fuzz.body === undefined ? {} : { 'content-length': Buffer.byteLength(fuzz.body) }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.setTimeout(30_000, () =>
      outgoing.destroy(new Error(`no answer to ${fuzz.method} ${fuzz.path}`)),
    );
    outgoing.on('error', reject);
    outgoing.end(fuzz.body);
  });
}

// ---- generators -------------------------------------------------------------------------------

const printable = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
});

/** Percent-encoded UTF-8 (lone surrogates become U+FFFD, as on any wire); encodeURIComponent throws on them. */
function percentEncode(text: string): string {
  return [...Buffer.from(text)]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Text a client might send: unicode, U+0000, lone surrogates, huge, empty. */
const nastyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfff',
    '💥',
    '../..',
    '%00',
    '{{trigger.body}}',
    ' ',
  ),
  fc.integer({ min: 101, max: 70_000 }).map((length) => 'x'.repeat(length)),
);

/** One path segment as sent on the wire: real ids, numbers past int4, malformed percent-encoding. */
const segment = fc.oneof(
  fc.constantFrom(...['1', '0', '-1', '1.5', '1e3', '0x10', 'NaN', 'Infinity', '3000000000', '9'.repeat(30)]),
  fc.constantFrom('%00', '%zz', '%C0%AE', '%2e%2e', '..', '%', '%FF', '%u0000', '%E2%82', '%ed%a0%80'),
  fc.integer({ min: 90, max: 400 }).map((length) => 'a'.repeat(length)),
  fc.constant('KNOWN_ID'),
  fc.constant('KNOWN_HOOK'),
  nastyText.map(percentEncode),
  printable.filter((text) => !text.includes('?') && !text.includes('#') && !text.includes('/')),
);

const cursorValue = fc.oneof(
  fc.constantFrom('WzEuNV0', 'W10', 'WzAsMCwwXQ', 'WyJ4IiwxXQ', 'bm90IGpzb24', '', '%00'),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url')),
  fc.tuple(fc.string(), fc.integer()).map((key) => Buffer.from(JSON.stringify(key)).toString('base64url')),
);

function queryString(names: string[]) {
  const name = fc.oneof(fc.constantFrom(...names, 'limit', 'cursor', 'provider'), printable);
  const value = fc.oneof(
    segment,
    cursorValue,
    fc.constantFrom('0', '101', '50', '1000000000000', 'abc', 'true'),
  );
  return fc
    .array(fc.tuple(name, value), { maxLength: 4 })
    .map((pairs) =>
      pairs.length === 0 ? '' : `?${pairs.map(([key, item]) => `${percentEncode(key)}=${item}`).join('&')}`,
    );
}

/** A value shaped by a JSON Schema, often wrong in one place: reaches the handlers and their edges. */
function fromSchema(schema: unknown, depth = 0): fc.Arbitrary<unknown> {
  const anything = fc.jsonValue({ maxDepth: 3 });
  const knownString = fc.constantFrom(...known.strings, ...known.ids, ...known.hookIds);
  if (depth > 5 || typeof schema !== 'object' || schema === null) return anything;
  const options = [...listOf(schema, 'anyOf'), ...listOf(schema, 'oneOf')];
  if (options.length > 0) return fc.oneof(...options.map((option) => fromSchema(option, depth + 1)));
  const enumValues = listOf(schema, 'enum');
  const typed = (() => {
    switch (field(schema, 'type')) {
      case 'object': {
        const properties = field(schema, 'properties');
        const entries = Object.entries(
          typeof properties === 'object' && properties !== null ? properties : {},
        );
        const shape = Object.fromEntries(entries.map(([key, value]) => [key, fromSchema(value, depth + 1)]));
        return fc.oneof(
          fc.record(shape, { requiredKeys: entries.map(([key]) => key) }),
          fc.record(shape, { requiredKeys: [] }),
          fc.dictionary(fc.string(), anything, { maxKeys: 3 }),
        );
      }
      case 'array':
        return fc.array(fromSchema(field(schema, 'items'), depth + 1), { maxLength: 3 });
      case 'string':
        return fc.oneof(knownString, nastyText, fc.emailAddress(), fc.webUrl());
      case 'integer':
      case 'number':
        return fc.oneof(
          fc.integer(),
          fc.constantFrom(
            ...known.ids.map(Number),
            0,
            -1,
            1.5,
            3_000_000_000,
            Number.MAX_SAFE_INTEGER,
            1e308,
          ),
        );
      case 'boolean':
        return fc.boolean();
      default:
        return anything;
    }
  })();
  return enumValues.length > 0 ? fc.oneof(fc.constantFrom(...enumValues), typed) : typed;
}

function deep(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function bodyFor(operation: Operation) {
  const json = (value: unknown) => ({
    contentType: 'application/json',
    body: JSON.stringify(value) ?? 'null',
  });
  return fc.oneof(
    { weight: 6, arbitrary: fromSchema(operation.bodySchema).map(json) },
    { weight: 1, arbitrary: fc.jsonValue().map(json) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(65, 1_000, 20_000)
        .map((depth) => ({ contentType: 'application/json', body: deep(depth) })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-16',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          '',
        ),
        body: fc.oneof(
          nastyText,
          fc.constantFrom('{', '{"a":', 'null', '[]', '{"__proto__":{"x":1}}', 'a=1&a=2'),
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ contentType: undefined, body: undefined }) },
  );
}

function requestFor(operation: Operation): fc.Arbitrary<FuzzRequest> {
  const params = fc.tuple(...operation.pathParams.map(() => segment));
  return fc
    .record({
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant(operation.method) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      params: operation.pathParams.length > 0 ? params : fc.constant([] as string[]),
      query: queryString(operation.queryParams),
      body: bodyFor(operation),
      // Mostly the real token, so that requests get past authentication into the handlers.
      authorization: fc.oneof(
        { weight: 6, arbitrary: fc.constant(`Bearer ${known.tokens[0] ?? ''}`) },
        { weight: 1, arbitrary: fc.constantFrom(...known.tokens).map((token) => `Bearer ${token}`) },
        { weight: 1, arbitrary: printable },
        { weight: 1, arbitrary: fc.constant(null) },
      ),
      extraHeaders: fc.dictionary(
        fc.constantFrom(
          'idempotency-key',
          'webhook-id',
          'webhook-timestamp',
          'webhook-signature',
          'accept',
          'x-forwarded-for',
        ),
        printable,
        { maxKeys: 3 },
      ),
    })
    .map(({ method, params, query, body, authorization, extraHeaders }) => {
      let index = 0;
      const path = operation.path.replace(/\{[^}]+\}/g, () => {
        const value = params[index++] ?? '1';
        if (value === 'KNOWN_ID') return known.ids[0] ?? '1';
        if (value === 'KNOWN_HOOK') return known.hookIds[0] ?? 'a';
        return value;
      });
      const headers: Record<string, string> = { ...extraHeaders };
      if (authorization !== null) headers.authorization = authorization;
      const withBody = method !== 'GET' && method !== 'HEAD' && body.body !== undefined;
      if (withBody && body.contentType) headers['content-type'] = body.contentType;
      return { method, path: `${path}${query}`, headers, body: withBody ? body.body : undefined };
    });
}

/** Paths no route has: random segments under the apps' prefixes. */
const strayRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    prefix: fc.constantFrom('', '/api', '/api/workflows', '/hooks', '/api/oauth2-credential', '/pubsub'),
    segments: fc.array(segment, { minLength: 1, maxLength: 3 }),
    query: queryString([]),
  })
  .map(({ method, prefix, segments, query }) => ({
    method,
    path: `${prefix}/${segments.join('/')}${query}`,
    headers: {},
    body: undefined,
  }));

// ---- the property ---------------------------------------------------------------------------------

interface Tally {
  cases: number;
  fiveHundreds: number;
  statuses: Map<number, number>;
}

function violation(fuzz: FuzzRequest, answer: Answer): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (answer.status < 400 || fuzz.method === 'HEAD') return undefined;
  if (!answer.contentType.includes('application/problem+json'))
    return `a ${answer.status} as ${answer.contentType}: ${answer.text.slice(0, 300)}`;
  let code: unknown;
  try {
    code = field(JSON.parse(answer.text), 'code');
  } catch {
    return `a ${answer.status} that is not JSON: ${answer.text.slice(0, 300)}`;
  }
  return typeof code === 'string' && code.length > 0 ? undefined : `a ${answer.status} without a code`;
}

const tallies = new Map<AppName, Tally>();

describe('fuzzing every route of every app', () => {
  for (const app of ['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'] as const) {
    it(`${app}: no 5xx, every 4xx is problem+json with a code`, async () => {
      const tally: Tally = { cases: 0, fiveHundreds: 0, statuses: new Map() };
      tallies.set(app, tally);
      const routes = operations.get(app) ?? [];
      const arbitrary = fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...routes).chain(requestFor) },
        { weight: 1, arbitrary: strayRequest },
      );
      await fc.assert(
        fc.asyncProperty(arbitrary, async (fuzz) => {
          const answer = await send(app, fuzz).catch((error: unknown) => {
            console.log(
              system.logLines
                .filter((line) => line.startsWith(app))
                .slice(-8)
                .join('\n'),
            );
            throw error;
          });
          tally.cases++;
          tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
          if (answer.status >= 500) tally.fiveHundreds++;
          const problem = violation(fuzz, answer);
          if (problem) throw new Error(`${fuzz.method} ${fuzz.path.slice(0, 200)}: ${problem}`);
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: false },
      );
      const statuses = [...tally.statuses.entries()].sort(([a], [b]) => a - b);
      console.log(
        `fuzz ${app}: ${tally.cases} cases over ${routes.length} routes, 5xx: ${tally.fiveHundreds}, statuses: ${statuses.map(([status, count]) => `${status}×${count}`).join(' ')}`,
      );
      expect(tally.fiveHundreds).toBe(0);
    }, 600_000);
  }
});
