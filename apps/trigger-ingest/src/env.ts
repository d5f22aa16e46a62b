import { keyProviderEnv } from '@autoflow/crypto';
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
  // Push endpoints' settings (Gmail's PUBSUB_PUSH_*, …) are their providers' own: server.ts parses them
  // with resolveProviderSettings.
  /** Postgres connections; a webhook reads its workflow only on a cache miss, a push event reads its listeners. */
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /**
   * Memory for the workflows webhooks route to (about each row's JSON length), kept until Postgres
   * NOTIFYs a change of the row; the least recently used go first.
   */
  WEBHOOK_CACHE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
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
