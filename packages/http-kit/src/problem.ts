import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { registerRequestIdHeader } from './request-id.js';

// Errors as RFC 9457 problem+json with a stable machine-readable `code`.

export interface ProblemIssue {
  path: (string | number)[];
  message: string;
}

export class ProblemError extends Error {
  /**
   * Finer than `code`, for metrics only and never sent: e.g. an inactive hook answers the same 404 as an
   * unknown one, so that the answer tells nothing, while operators still count them apart.
   */
  reason?: string;

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
  /** The workflow's action is not installed (any more): retrying cannot help. */
  actionUnavailable: (detail: string) =>
    new ProblemError(422, 'action_unavailable', 'Action unavailable', detail),
  unavailable: (detail: string) =>
    new ProblemError(503, 'service_unavailable', 'Service unavailable', detail),
};

const answeredProblems = new WeakMap<FastifyReply, ProblemError>();

/** The problem a reply answered with (sendProblem), for hooks that count refusals by their code. */
export function answeredProblem(reply: FastifyReply): ProblemError | undefined {
  return answeredProblems.get(reply);
}

export function sendProblem(reply: FastifyReply, problem: ProblemError) {
  answeredProblems.set(reply, problem);
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

/** The SQLSTATE of a Postgres error, also when wrapped (drizzle wraps driver errors in `cause`). */
function postgresErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let hops = 0; hops < 3 && typeof current === 'object' && current !== null; hops++) {
    if ('name' in current && current.name === 'PostgresError' && 'code' in current)
      return typeof current.code === 'string' ? current.code : undefined;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/**
 * Installs the error and not-found handlers that turn every failure into problem+json, and the hook that
 * returns the request id on every answer (every app installs these once, at its root).
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  registerRequestIdHeader(app);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problems.notFound(`route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`),
    ),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) return sendProblem(reply, error);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((issue) => ({
        path: [
          ...(error.validationContext ? [error.validationContext] : []),
          ...issue.instancePath.split('/').filter(Boolean),
        ],
        message: issue.message ?? 'invalid',
      }));
      return sendProblem(reply, problems.validationFailed(issues));
    }
    const sqlState = postgresErrorCode(error);
    if (sqlState && (sqlState.startsWith('22') || sqlState === '54001')) {
      // A data exception (a value out of range, text Postgres cannot store, …) comes from the request:
      // the routes validate first, this is the net behind them.
      request.log.warn({ sqlState }, 'the database refused a value of the request');
      return sendProblem(
        reply,
        new ProblemError(400, 'invalid_value', 'Invalid value', 'a value of the request cannot be stored'),
      );
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      const code = error.code ? error.code.toLowerCase().replace(/^fst_/, '') : 'bad_request';
      const title = STATUS_CODES[error.statusCode] ?? 'Bad request';
      return sendProblem(reply, new ProblemError(error.statusCode, code, title, error.message));
    }
    if (error.name === 'VaultError') {
      // The key provider (Vault Transit) refused or could not be reached: nothing is wrong with the
      // request, and nothing was stored half-sealed; the client may try again.
      request.log.error({ err: error }, 'the key provider failed');
      return sendProblem(
        reply,
        new ProblemError(
          503,
          'key_provider_unavailable',
          'Service unavailable',
          'secrets cannot be sealed or opened right now; try again later',
        ),
      );
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(
      reply,
      new ProblemError(500, 'internal_error', 'Internal error', 'an unexpected error occurred'),
    );
  });
}
