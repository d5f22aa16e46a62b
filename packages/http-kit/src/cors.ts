import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { REQUEST_ID_HEADER } from './request-id.js';

// CORS for the browser frontends of a deployment, in the apps rather than the proxy: it then holds
// behind Caddy, a Kubernetes Ingress or nothing, and each app's tests see it.
//
// Frontends authenticate with a bearer token in the Authorization header (the OAuth connection too:
// GET /auth with `Accept: application/json`, then POST /complete as the same user). That header is
// what the preflight must allow. Nothing here authenticates with cookies, so no
// Access-Control-Allow-Credentials: a page's fetch keeps its default `credentials: 'same-origin'`.

/** Request headers a frontend sends beyond the CORS-safelisted ones. */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'idempotency-key',
  'last-event-id',
  REQUEST_ID_HEADER,
] as const;

/** Answer headers a frontend may read beyond the safelisted ones. */
export const CORS_EXPOSED_HEADERS = [REQUEST_ID_HEADER, 'retry-after'] as const;

export const CORS_ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** How long a browser may reuse a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

/** An origin as a browser sends it: scheme, host and port only (no path, no trailing slash). */
function isOrigin(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
}

/**
 * CORS_ALLOWED_ORIGINS: comma-separated origins (https://app.example.com,http://localhost:5173) whose
 * pages may call the API; empty (the default): no CORS headers at all. `*` is refused: a list names
 * who may act with a user's token from a browser.
 */
export const corsAllowedOriginsSchema = z
  .string()
  .default('')
  .transform((value, context): ReadonlySet<string> => {
    const origins = value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    const invalid = origins.filter((origin) => !isOrigin(origin));
    if (invalid.length > 0) {
      context.addIssue({
        code: 'custom',
        message: `not an origin (scheme://host[:port], no path): ${invalid.join(', ')}`,
      });
      return z.NEVER;
    }
    return new Set(origins);
  });

export interface CorsOptions {
  allowedOrigins: ReadonlySet<string>;
  /** Only requests under this path get CORS (the API's `/api/`); the codec endpoint keeps its own. */
  pathPrefix: string;
}

/**
 * Answers preflights and adds CORS headers for an allowed Origin on the paths under `pathPrefix`;
 * any other Origin gets no CORS header (its preflight answers 404 like an unknown route), so the
 * browser refuses the page's call. Nothing is registered when no origin is allowed.
 */
export async function registerCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  const { allowedOrigins, pathPrefix } = options;
  if (allowedOrigins.size === 0) return;
  await app.register(fastifyCors, {
    // Before authentication: a preflight carries no Authorization header.
    hook: 'onRequest',
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      const allowed =
        origin !== undefined && allowedOrigins.has(origin) && request.url.startsWith(pathPrefix);
      callback(
        null,
        allowed
          ? {
              origin,
              methods: [...CORS_ALLOWED_METHODS],
              allowedHeaders: [...CORS_ALLOWED_HEADERS],
              exposedHeaders: [...CORS_EXPOSED_HEADERS],
              maxAge: CORS_MAX_AGE_SECONDS,
              credentials: false,
            }
          : { origin: false },
      );
    },
  });
}
