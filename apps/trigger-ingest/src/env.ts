import { keyProviderEnv } from '@autoflow/crypto';
import { unsetWhenEmpty } from '@autoflow/http-kit';
import { GOOGLE_JWKS_URL } from '@autoflow/provider-gmail';
import { payloadEncryptionEnv } from '@autoflow/temporal-codec';
import { temporalConnectionEnv } from '@autoflow/temporal-connection';
import { tracingEnv } from '@autoflow/tracing';
import { z } from 'zod';

export const envSchema = z.object({
  /** Postgres: trigger-ingest reads workflows to route events. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port. Events are acknowledged only once Temporal accepted their run. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** TLS, mTLS and API key for the Temporal connection (TEMPORAL_TLS*, TEMPORAL_API_KEY), documented in temporal-connection's env.ts. */
  ...temporalConnectionEnv,
  /** Temporal namespace every app of a deployment shares. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  ...keyProviderEnv,
  ...payloadEncryptionEnv,
  /** Largest webhook body accepted, in bytes. */
  WEBHOOK_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** The `aud` Gmail's Pub/Sub push subscription puts in its OIDC tokens (usually the push endpoint URL). Gmail push is refused (401) while unset. */
  PUBSUB_PUSH_AUDIENCE: unsetWhenEmpty(z.string().min(1).optional()),
  /** The service account the push subscription signs its tokens as; only its tokens are accepted. */
  PUBSUB_PUSH_SERVICE_ACCOUNT: unsetWhenEmpty(z.string().min(3).optional()),
  /** JWK Set of the token signer; Google's by default (tests point it at a local key). */
  PUBSUB_PUSH_JWKS_URL: unsetWhenEmpty(z.string().url().default(GOOGLE_JWKS_URL)),
  /** Postgres connections; every inbound event does one indexed read. */
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /** At SIGTERM, how long in-flight requests may take to finish; past it the process exits 1. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  /** Port to listen on. */
  PORT: z.coerce.number().int().positive().default(3002),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, …): off unless an OTLP endpoint is set; documented in tracing's env.ts. */
  ...tracingEnv,
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
