import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyServerOptions } from 'fastify';
import { loggerOptions } from './logging.js';
import { ProblemError, sendProblem } from './problem.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';

/** The longest path parameter a route receives (a hook id is 32 characters); longer ones answer 414. */
export const MAX_PATH_PARAM_LENGTH = 100;

export interface AppServerOptions {
  logLevel: string;
  /** Largest request body in bytes (Fastify's default, 1 MiB, when absent). */
  bodyLimit?: number;
}

/**
 * Errors the router raises before any route or hook runs (a path that is not valid percent-encoding,
 * an over-long parameter) as problem+json like every other error. The detail never repeats the URL: it
 * may carry a query string with secrets.
 */
function frameworkProblem(error: FastifyError): ProblemError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new ProblemError(400, 'bad_url', 'Bad request', 'the path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ProblemError(
        414,
        'path_parameter_too_long',
        'URI too long',
        `a path parameter is longer than ${MAX_PATH_PARAM_LENGTH} characters`,
      );
    default:
      return new ProblemError(400, 'bad_request', 'Bad request', 'the request could not be routed');
  }
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers or URL over 16 KiB, a malformed
 * request line, a timeout) answered as problem+json, then the connection is closed as Node does.
 */
const clientErrorHandler: NonNullable<FastifyServerOptions['clientErrorHandler']> = (error, socket) => {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request line and headers exceed 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request took too long to arrive']
        : [400, 'bad_request', 'the request is not valid HTTP'];
  const title = STATUS_CODES[status] ?? 'Bad request';
  const body = JSON.stringify({ type: `about:blank#${code}`, title, status, detail, code });
  // The answer to a HEAD has no body (the parser failed, but the request line is in the packet).
  const packet = 'rawPacket' in error && Buffer.isBuffer(error.rawPacket) ? error.rawPacket : undefined;
  const isHead = packet?.toString('latin1', 0, 5) === 'HEAD ';
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json\r\n\r\n${isHead ? '' : body}`,
    );
  }
  socket.destroy(error);
};

/** The Fastify options every app's server (and every test building an app) starts from. */
export function fastifyOptions({ logLevel, bodyLimit }: AppServerOptions): FastifyServerOptions {
  return {
    logger: loggerOptions(logLevel),
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // The header is read by genReqId, which checks it: Fastify would take any value as it is.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // These answers skip every hook (the onSend that returns the request id included).
    frameworkErrors: (error, request, reply) =>
      sendProblem(reply.header(REQUEST_ID_HEADER, request.id), frameworkProblem(error)),
    clientErrorHandler,
  };
}
