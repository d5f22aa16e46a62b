import { exceedsJsonDepth, MAX_JSON_DEPTH, unstorableTextIssues } from '@autoflow/workflow-contracts';
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ProblemError, problems } from './problem.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/**
 * What no route accepts, checked before its schema runs: nesting past MAX_JSON_DEPTH (zod and every
 * later walk recurse, so a body nested 20,000 deep must stop here) and text Postgres cannot store
 * (U+0000, lone surrogates), refused with the field's path. Headers cannot carry either.
 */
export function requestPartProblem(part: string, data: unknown): ProblemError | undefined {
  if (exceedsJsonDepth(data, MAX_JSON_DEPTH)) {
    return problems.validationFailed(
      [{ path: [part], message: `nests deeper than ${MAX_JSON_DEPTH} levels` }],
      'the request nests too deep',
    );
  }
  const issues = unstorableTextIssues(data, [part]);
  if (issues.length > 0)
    return problems.validationFailed(issues, 'the request contains text that cannot be stored');
  return undefined;
}

const guardedValidatorCompiler: typeof validatorCompiler = (route) => {
  const validate = validatorCompiler(route);
  const part = route.httpPart ?? 'body';
  if (part === 'headers') return validate;
  return (data) => {
    const problem = requestPartProblem(part, data);
    // An Error result reaches the error handler as it is: a ProblemError answers itself.
    return problem ? { error: problem } : validate(data);
  };
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 9457 problem details, as sendProblem answers every error; one component (`Problem`) in the document. */
export const problemSchema = z
  .object({
    type: z.string().meta({ examples: ['about:blank#not_found'] }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe('Stable and machine-readable: what a client branches on.'),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional()
      .describe('With `validation_failed`: which fields, and why.'),
  })
  .meta({
    id: 'Problem',
    description: 'application/problem+json (RFC 9457) with a machine-readable `code`',
    examples: [
      {
        type: 'about:blank#not_found',
        title: 'Not found',
        status: 404,
        detail: 'workflow not found',
        code: 'not_found',
      },
    ],
  });

/** What each error status means wherever it is declared; a route may say more about its own. */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid: `validation_failed` (with `issues`, also for a bad cursor), `invalid_value`, or a body that is not JSON.',
  401: 'No valid bearer token: `unauthorized`.',
  403: 'Forbidden.',
  404: 'Not found, or not the caller’s: `not_found` (another user’s ids answer exactly like missing ones).',
  408: 'The request took too long to arrive: `request_timeout` (answered before any route).',
  409: 'Conflict.',
  413: 'The body is larger than this route accepts.',
  414: 'A path parameter is longer than the router accepts.',
  415: 'The body’s content type is not `application/json`.',
  422: 'The request is valid but cannot be carried out.',
  431: 'The request line and headers exceed 16 KiB: `headers_too_large` (answered before any route).',
  429: 'Rate limited: `rate_limited`; `Retry-After` says when to try again.',
  500: 'An unexpected error: `internal_error` (logged with the request id).',
  503: 'A dependency is unavailable (`service_unavailable`, `key_provider_unavailable`); retrying later may succeed.',
};

export interface ProblemResponse {
  description: string;
  content: { 'application/problem+json': { schema: typeof problemSchema } };
}

/** A problem+json response: `description` replaces the status's general one. */
export function problemResponse(status: number, description?: string): ProblemResponse {
  return {
    description: description ?? PROBLEM_DESCRIPTIONS[status] ?? 'An error.',
    content: { 'application/problem+json': { schema: problemSchema } },
  };
}

/** `{400: …, 404: …}` for route schemas' `response`. */
export function problemResponses(...statuses: number[]): Record<number, ProblemResponse> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status)]));
}

/** Methods whose requests Fastify parses a body for (its JSON parser answers 400, 413 and 415). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Errors every route of a kind can answer, whatever its handler does, added to its declared responses:
 * 500 anywhere, and 408 and 431 from the HTTP parser before any route (clientErrorHandler); 400 when a
 * schema validates part of the request; 414 for a path parameter over the router's limit; 400, 413 and
 * 415 for a method with a body, unless its schema's `consumes` says it reads any content type itself;
 * 401 when it declares bearer security (authenticate()).
 */
function impliedProblemStatuses(route: {
  method: string | string[];
  url: string;
  schema: FastifySchema & { security?: unknown; consumes?: readonly string[] };
}): number[] {
  const { schema } = route;
  const statuses = [408, 431, 500];
  if (schema.params || schema.querystring || schema.headers || schema.body) statuses.push(400);
  if (route.url.includes(':')) statuses.push(414);
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const readsAnyContent = schema.consumes?.includes('*/*') ?? false;
  if (methods.some((method) => BODY_METHODS.has(method)) && !readsAnyContent) statuses.push(400, 413, 415);
  if (Array.isArray(schema.security) && schema.security.length > 0) statuses.push(401);
  return statuses;
}

/**
 * A free-form query (a record, e.g. a webhook's) has no properties for @fastify/swagger to turn into
 * parameters: it would list the schema's own keywords (`type`, `propertyNames`, …) as parameters. It
 * becomes one form-style exploded object parameter, which is what OpenAPI means by "any query keys".
 */
const transformRoute: typeof jsonSchemaTransform = (document) => {
  const transformed = jsonSchemaTransform(document);
  const query = transformed.schema?.querystring;
  if (transformed.schema && isRecord(query) && !isRecord(query.properties)) {
    transformed.schema.querystring = {
      type: 'object',
      style: 'form',
      explode: true,
      properties: { query: { ...query, description: 'Any query parameters, passed on as they are.' } },
    };
  }
  return transformed;
};

/** What a success without a description of its own says, instead of @fastify/swagger's "Default Response". */
const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  '200': 'OK.',
  '201': 'Created.',
  '202': 'Accepted.',
  '204': 'Done; no content.',
};

/** Headers every answer has (`x-request-id`, see request-id.ts), and those of redirects and 429s. */
function declareResponseHeaders(paths: unknown): void {
  if (!isRecord(paths)) return;
  for (const pathItem of Object.values(paths)) {
    if (!isRecord(pathItem)) continue;
    for (const operation of Object.values(pathItem)) {
      if (!isRecord(operation) || !isRecord(operation.responses)) continue;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!isRecord(response)) continue;
        if (response.description === 'Default Response')
          response.description = SUCCESS_DESCRIPTIONS[status] ?? 'The answer.';
        const headers: Record<string, unknown> = {
          ...(isRecord(response.headers) ? response.headers : {}),
          [REQUEST_ID_HEADER]: { $ref: '#/components/headers/RequestId' },
        };
        if (/^3\d\d$/.test(status)) headers.location = { $ref: '#/components/headers/Location' };
        if (status === '429') headers['retry-after'] = { $ref: '#/components/headers/RetryAfter' };
        response.headers = headers;
      }
    }
  }
}

/**
 * Zod validates requests and serializes responses; the same schemas produce the app's OpenAPI 3.1 document,
 * served at `/openapi.json` (`pnpm openapi` merges every app's into the committed one).
 */
export async function registerOpenApi(app: FastifyInstance, info: { title: string; description: string }) {
  app.setValidatorCompiler(guardedValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRoute', (route) => {
    const schema = route.schema;
    if (!schema || schema.hide) return;
    const responses = isRecord(schema.response) ? schema.response : {};
    for (const status of impliedProblemStatuses({ method: route.method, url: route.url, schema }))
      if (!(status in responses)) responses[status] = problemResponse(status);
    schema.response = responses;
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { ...info, version: '0.1.0' },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The `token` that `POST /api/auth/register` and `POST /api/auth/login` answer.',
          },
        },
        headers: {
          RequestId: {
            description:
              "The request id: the caller's `x-request-id` when it is 1–128 visible ASCII characters, else a new UUID. Log lines and the run it starts carry it.",
            schema: { type: 'string' },
          },
          Location: { description: 'Where the redirect leads.', schema: { type: 'string', format: 'uri' } },
          RetryAfter: {
            description: 'Seconds until the limit resets.',
            schema: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    transform: transformRoute,
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const openapi = jsonSchemaTransformObject(document);
      declareResponseHeaders(openapi.paths);
      return openapi;
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
