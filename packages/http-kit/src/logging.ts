import type { FastifyServerOptions } from 'fastify';

// JSON logs with secrets kept out: request lines carry the path and the names of query
// parameters only (OAuth callbacks carry codes and state there), and credentials in headers are redacted.

const HIDDEN_QUERY_VALUE = '[redacted]';

export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  const names = [...new Set(params.keys())].map(
    (name) => `${encodeURIComponent(name)}=${HIDDEN_QUERY_VALUE}`,
  );
  return `${url.slice(0, queryStart)}?${names.join('&')}`;
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
      censor: HIDDEN_QUERY_VALUE,
    },
    serializers: {
      req: (request: { method: string; url: string; id: string }) => ({
        id: request.id,
        method: request.method,
        url: redactUrl(request.url),
      }),
    },
  };
}
