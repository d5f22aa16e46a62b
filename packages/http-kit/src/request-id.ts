import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The header a request id arrives in and is returned in. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * A caller's request id is kept when it is 1–128 visible ASCII characters (no spaces, no control
 * characters): it goes into log lines and Temporal, so anything else is replaced, never echoed.
 */
export const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** Fastify's `genReqId`: the caller's well-formed `x-request-id`, else a fresh UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const offered = request.headers[REQUEST_ID_HEADER];
  return typeof offered === 'string' && REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
}

/** Returns the request id on every answer, problem+json included, so a caller can quote it. */
export function registerRequestIdHeader(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    return payload;
  });
}
