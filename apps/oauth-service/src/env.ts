import { keyProviderEnv } from '@autoflow/crypto';
import { corsAllowedOriginsSchema, trustProxySchema, unsetWhenEmpty } from '@autoflow/http-kit';
import { temporalConnectionEnv } from '@autoflow/temporal-connection';
import { tracingEnv } from '@autoflow/tracing';
import { z } from 'zod';

const baseSchema = z.object({
  /** Postgres: oauth_states and credentials live here. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port; checked by /readyz. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** TLS, mTLS and API key for the Temporal connection (TEMPORAL_TLS*, TEMPORAL_API_KEY), documented in temporal-connection's env.ts. */
  ...temporalConnectionEnv,
  /** HS256 key of the JWTs api-gateway issues (at least 32 characters). */
  JWT_SECRET: z.string().min(32),
  ...keyProviderEnv,
  /** This service's public callback URL, as registered at every provider. */
  OAUTH_CALLBACK_URL: z.string().url().default('http://localhost:3001/api/oauth2-credential/callback'),
  /** Comma-separated origins a flow may send the browser back to. */
  OAUTH_REDIRECT_ALLOWLIST: z.string().default('http://localhost:5173'),
  /**
   * The frontend page the callback sends the browser to when the flow named no redirectUrl (or the
   * callback names no known flow); its origin must be on OAUTH_REDIRECT_ALLOWLIST. Default: the first
   * origin of the allow-list.
   */
  OAUTH_DEFAULT_REDIRECT_URL: unsetWhenEmpty(z.string().url().optional()),
  /** Accept plain-http provider endpoints (local fakes in tests). Never in production. */
  OAUTH_ALLOW_HTTP_ENDPOINTS: z.enum(['true', 'false']).default('false'),
  /** Requests per minute, endpoint and client address on the OAuth endpoints, counted across replicas. */
  OAUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /**
   * Proxies whose X-Forwarded-For names the client, for the per-address limits: "false" (default: the
   * peer is the client), a hop count, or addresses/CIDRs ("10.0.0.0/8,loopback").
   */
  TRUST_PROXY: trustProxySchema,
  /**
   * Comma-separated origins of the frontends whose pages may call /api/oauth2-credential/ from a browser
   * (/auth with Accept: application/json, /complete; bearer token, no cookies); empty (default): no CORS
   * headers. Usually the same list as api-gateway's.
   */
  CORS_ALLOWED_ORIGINS: corsAllowedOriginsSchema,
  /** At SIGTERM, how long in-flight requests may take to finish; past it the process exits 1. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  /** Port to listen on. */
  PORT: z.coerce.number().int().positive().default(3001),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, …): off unless an OTLP endpoint is set; documented in tracing's env.ts. */
  ...tracingEnv,
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export function redirectAllowlist(env: { OAUTH_REDIRECT_ALLOWLIST: string }): Set<string> {
  return new Set(
    env.OAUTH_REDIRECT_ALLOWLIST.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  );
}

/** Resolves OAUTH_DEFAULT_REDIRECT_URL (the first allowed origin when unset) and checks its origin. */
export const envSchema = baseSchema.transform((env, context) => {
  const allowed = redirectAllowlist(env);
  const [firstOrigin] = allowed;
  const landing = env.OAUTH_DEFAULT_REDIRECT_URL ?? (firstOrigin ? `${firstOrigin}/` : '');
  if (!URL.canParse(landing) || !allowed.has(new URL(landing).origin)) {
    context.addIssue({
      code: 'custom',
      path: ['OAUTH_DEFAULT_REDIRECT_URL'],
      message: 'must be a URL whose origin is on OAUTH_REDIRECT_ALLOWLIST',
    });
    return z.NEVER;
  }
  return { ...env, OAUTH_DEFAULT_REDIRECT_URL: landing };
});

export type Env = z.output<typeof envSchema>;
