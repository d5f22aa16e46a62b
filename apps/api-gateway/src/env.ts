import { keyProviderEnv } from '@autoflow/crypto';
import { corsAllowedOriginsSchema, trustProxySchema } from '@autoflow/http-kit';
import { payloadEncryptionEnv } from '@autoflow/temporal-codec';
import { temporalConnectionEnv } from '@autoflow/temporal-connection';
import { tracingEnv } from '@autoflow/tracing';
import { z } from 'zod';

export const envSchema = z.object({
  /** Postgres holding users, workflows, credentials and executions. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** TLS, mTLS and API key for the Temporal connection (TEMPORAL_TLS*, TEMPORAL_API_KEY), documented in temporal-connection's env.ts. */
  ...temporalConnectionEnv,
  /** Temporal namespace every app of a deployment shares. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** HS256 key for the JWTs this app issues and every app verifies (at least 32 characters). */
  JWT_SECRET: z.string().min(32),
  ...keyProviderEnv,
  ...payloadEncryptionEnv,
  /** Public base URL of trigger-ingest; webhook URLs shown to users start with it. */
  PUBLIC_WEBHOOK_BASE_URL: z.string().url().default('http://localhost:3002'),
  /** Accept plain-http provider endpoints (local fakes in tests). Never in production. */
  OAUTH_ALLOW_HTTP_ENDPOINTS: z.enum(['true', 'false']).default('false'),
  /**
   * Proxies whose X-Forwarded-For names the client, for the per-address limits: "false" (default: the
   * peer is the client), a hop count, or addresses/CIDRs ("10.0.0.0/8,loopback"). See http-kit's trust-proxy.ts.
   */
  TRUST_PROXY: trustProxySchema,
  /** Length of the login and registration limit windows, in seconds (15 minutes). */
  AUTH_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
  /** Login attempts per window and client address; an office behind one NAT shares it. */
  AUTH_LOGIN_MAX_PER_ADDRESS: z.coerce.number().int().positive().default(100),
  /** Login attempts per window and account (email), right or wrong: caps password guessing on one account. */
  AUTH_LOGIN_MAX_PER_ACCOUNT: z.coerce.number().int().positive().default(10),
  /** Registrations per window and client address: bounds probing which emails have accounts (409). */
  AUTH_REGISTER_MAX_PER_ADDRESS: z.coerce.number().int().positive().default(20),
  /** Registration attempts per window and email, whatever the client address. */
  AUTH_REGISTER_MAX_PER_ACCOUNT: z.coerce.number().int().positive().default(3),
  /**
   * Origin of the Temporal UI (e.g. http://localhost:8233) allowed by CORS to call the codec endpoint
   * (/codec/decode, /codec/encode); unset: no CORS headers.
   */
  TEMPORAL_UI_ORIGIN: z.string().url().optional(),
  /**
   * Comma-separated origins of the frontends whose pages may call /api/ from a browser (CORS, bearer
   * token in Authorization, no cookies); empty (default): no CORS headers. See http-kit's cors.ts.
   */
  CORS_ALLOWED_ORIGINS: corsAllowedOriginsSchema,
  /**
   * Base URL of the Temporal UI (e.g. http://localhost:8233): an execution's detail links to its run at
   * `{base}/namespaces/{ns}/workflows/{workflowId}/{runId}/history`. Unset: no link.
   */
  TEMPORAL_UI_BASE_URL: z.string().url().optional(),
  /** Seconds between heartbeat comments on an open execution stream (keeps proxies from closing it). */
  EXECUTION_STREAM_HEARTBEAT_SECONDS: z.coerce.number().int().positive().default(15),
  /** At SIGTERM, how long in-flight requests may take to finish; past it the process exits 1. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  /** Port to listen on. */
  PORT: z.coerce.number().int().positive().default(3000),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, …): off unless an OTLP endpoint is set; documented in tracing's env.ts. */
  ...tracingEnv,
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
