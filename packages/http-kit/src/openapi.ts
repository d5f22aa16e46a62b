import { exceedsJsonDepth, MAX_JSON_DEPTH, unstorableTextIssues } from '@autoflow/workflow-contracts';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { type ProblemError, problems } from './problem.js';

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

/** Zod validates requests and serializes responses; the same schemas produce OpenAPI 3.1 at /docs. */
export async function registerOpenApi(app: FastifyInstance, info: { title: string; description: string }) {
  app.setValidatorCompiler(guardedValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { ...info, version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
  });
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger());
}
