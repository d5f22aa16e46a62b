import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

// Errors as RFC 9457 problem+json with a stable machine-readable `code`.

export interface ProblemIssue {
  path: (string | number)[];
  message: string;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly issues?: ProblemIssue[],
  ) {
    super(detail ?? title);
  }
}

export const problems = {
  validationFailed: (issues: ProblemIssue[], detail = 'the request is not valid') =>
    new ProblemError(400, 'validation_failed', 'Validation failed', detail, issues),
  unauthorized: (detail = 'a valid bearer token is required') =>
    new ProblemError(401, 'unauthorized', 'Unauthorized', detail),
  notFound: (what = 'resource') => new ProblemError(404, 'not_found', 'Not found', `${what} not found`),
  conflict: (code: string, detail: string) => new ProblemError(409, code, 'Conflict', detail),
  tooManyRequests: (detail: string) => new ProblemError(429, 'rate_limited', 'Too many requests', detail),
  unavailable: (detail: string) =>
    new ProblemError(503, 'service_unavailable', 'Service unavailable', detail),
};

function send(reply: FastifyReply, problem: ProblemError) {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({
      type: `about:blank#${problem.code}`,
      title: problem.title,
      status: problem.status,
      detail: problem.detail ?? problem.title,
      code: problem.code,
      ...(problem.issues ? { issues: problem.issues } : {}),
    });
}

/** Installs the error and not-found handlers that turn every failure into problem+json. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    send(reply, problems.notFound(`route ${request.method} ${request.url.split('?')[0]}`)),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) return send(reply, error);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((issue) => ({
        path: [
          ...(error.validationContext ? [error.validationContext] : []),
          ...issue.instancePath.split('/').filter(Boolean),
        ],
        message: issue.message ?? 'invalid',
      }));
      return send(reply, problems.validationFailed(issues));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      const code = error.code ? error.code.toLowerCase().replace(/^fst_/, '') : 'bad_request';
      return send(reply, new ProblemError(error.statusCode, code, 'Bad request', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return send(
      reply,
      new ProblemError(500, 'internal_error', 'Internal error', 'an unexpected error occurred'),
    );
  });
}
