import type { FastifyServerOptions } from 'fastify';

// JSON logs with secrets kept out: request lines carry the path and the names of query
// parameters only (OAuth callbacks carry codes and state there), the path segments that are
// secrets are hidden, credentials in headers are redacted, and errors lose the values of failed queries.

const HIDDEN = '[redacted]';

/**
 * Paths whose next segment is a secret: an unsigned webhook's URL (`/hooks/:hookId` on
 * trigger-ingest) is all a sender needs to start runs.
 */
export const SECRET_PATH_PREFIXES: readonly string[] = ['/hooks/'];

function redactPath(path: string, secretPrefixes: readonly string[]): string {
  for (const prefix of secretPrefixes) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const segmentEnd = rest.indexOf('/');
    return `${prefix}${HIDDEN}${segmentEnd < 0 ? '' : rest.slice(segmentEnd)}`;
  }
  return path;
}

export function redactUrl(url: string, secretPrefixes: readonly string[] = SECRET_PATH_PREFIXES): string {
  const queryStart = url.indexOf('?');
  const path = redactPath(queryStart < 0 ? url : url.slice(0, queryStart), secretPrefixes);
  if (queryStart < 0) return path;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  const names = [...new Set(params.keys())].map((name) => `${encodeURIComponent(name)}=${HIDDEN}`);
  return `${path}?${names.join('&')}`;
}

// drizzle's DrizzleQueryError puts the bound values in its message ("Failed query: …\nparams: …") and
// in `params`: a lookup by a secret (a hook id, a token hash) would print the secret.
const QUERY_PARAMS_IN_MESSAGE = /\nparams: [\s\S]*$/;
const QUERY_PARAMS_IN_STACK = /\nparams: [\s\S]*?(?=\n\s+at |$)/;

export interface SerializedError {
  [field: string]: unknown;
  type: string;
  message: string;
  stack: string;
}

/** pino's error shape (type, message, stack, own fields, cause) without query parameter values. */
export function serializeError(error: Error, depth = 0): SerializedError {
  const ownFields = Object.entries(error).filter(([name]) => name !== 'params' && name !== 'cause');
  const { cause } = error;
  return {
    ...Object.fromEntries(ownFields),
    type: error.name,
    message: error.message.replace(QUERY_PARAMS_IN_MESSAGE, `\nparams: ${HIDDEN}`),
    stack: (error.stack ?? '').replace(QUERY_PARAMS_IN_STACK, `\nparams: ${HIDDEN}`),
    ...(cause === undefined || depth >= 5
      ? {}
      : { cause: cause instanceof Error ? serializeError(cause, depth + 1) : cause }),
  };
}

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["webhook-signature"]',
        'res.headers["set-cookie"]',
      ],
      censor: HIDDEN,
    },
    serializers: {
      req: (request: { method: string; url: string; id: string }) => ({
        id: request.id,
        method: request.method,
        url: redactUrl(request.url),
      }),
      err: (error: Error) => serializeError(error),
    },
  };
}
