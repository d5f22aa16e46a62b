import { exceedsJsonDepth, MAX_JSON_DEPTH, unstorableTextIssues } from '@autoflow/workflow-contracts';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
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

/** Every answer carries `x-request-id` (see request-id.ts): declared on every response of every operation. */
function declareRequestIdHeader(paths: unknown): void {
  if (!isRecord(paths)) return;
  for (const pathItem of Object.values(paths)) {
    if (!isRecord(pathItem)) continue;
    for (const operation of Object.values(pathItem)) {
      if (!isRecord(operation) || !isRecord(operation.responses)) continue;
      for (const response of Object.values(operation.responses)) {
        if (!isRecord(response)) continue;
        response.headers = {
          ...(isRecord(response.headers) ? response.headers : {}),
          [REQUEST_ID_HEADER]: { $ref: '#/components/headers/RequestId' },
        };
      }
    }
  }
}

/** Zod validates requests and serializes responses; the same schemas produce OpenAPI 3.1 at /docs. */
export async function registerOpenApi(app: FastifyInstance, info: { title: string; description: string }) {
  app.setValidatorCompiler(guardedValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { ...info, version: '0.1.0' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        headers: {
          RequestId: {
            description:
              "The request id: the caller's `x-request-id` when it is 1–128 visible ASCII characters, else a new UUID. Log lines and the run it starts carry it.",
            schema: { type: 'string' },
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      declareRequestIdHeader(document.openapiObject.paths);
      return document.openapiObject;
    },
  });
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger());
}
