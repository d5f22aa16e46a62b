import { keyProviderEnv } from '@autoflow/crypto';
import { payloadEncryptionEnv } from '@autoflow/temporal-codec';
import { temporalConnectionEnv } from '@autoflow/temporal-connection';
import { tracingEnv } from '@autoflow/tracing';
import { z } from 'zod';

export const envSchema = z.object({
  /** Postgres: executions are recorded here. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** TLS, mTLS and API key for the Temporal connection (TEMPORAL_TLS*, TEMPORAL_API_KEY), documented in temporal-connection's env.ts. */
  ...temporalConnectionEnv,
  /** Temporal namespace every app of a deployment shares. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  ...keyProviderEnv,
  ...payloadEncryptionEnv,
  /** Accept plain-http OAuth token endpoints (local fakes in tests). Never in production. */
  OAUTH_ALLOW_HTTP_ENDPOINTS: z.enum(['true', 'false']).default('false'),
  /** Comma-separated host:port pairs the HTTP action may reach although they are loopback or private. */
  HTTP_ACTION_ALLOWED_HOSTS: z.string().default(''),
  // Provider settings (GMAIL_*, SLACK_API_URL, GITHUB_API_URL, …) are not here: each provider declares
  // its own schema, and server.ts parses them with resolveProviderSettings.
  /** Activities (actions) one worker process runs at once. */
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(100),
  /** Workflow tasks one worker process runs at once. */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(40),
  /**
   * Local actions (HTTP, GitHub) one tenant may run at once in one worker process; each holds a
   * workflow-task slot for up to 3 s. Past it, the tenant's runs call their target as regular activities.
   */
  WORKER_MAX_LOCAL_ACTIONS_PER_TENANT: z.coerce.number().int().positive().default(10),
  /**
   * Task queues this process serves: `all`, or comma-separated names (automation-workflows,
   * automation-actions, slack-queue, gmail-queue, …), so rate-limited providers scale apart.
   * An unknown name stops the start.
   */
  WORKER_TASK_QUEUES: z.string().default('all'),
  /**
   * At SIGTERM, how long in-flight activities may run to completion before the SDK cancels them (they are
   * then retried by another worker). The SDK's own default, 0, cancels them at once.
   */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** Postgres connections; bookkeeping runs two short writes per run. */
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /**
   * host:port of the Temporal SDK's own Prometheus endpoint (/metrics: task slots, polls, schedule-to-start
   * latency), beside the worker's autoflow_* metrics on PORT. Default: HOST:9464, on the interface the
   * app binds; `off` disables it. Two workers on one host need different ports.
   */
  TEMPORAL_METRICS_BIND_ADDRESS: z.string().min(1).optional(),
  /** Port of the health endpoints (/healthz, /readyz) and of the worker's metrics (/metrics). */
  PORT: z.coerce.number().int().positive().default(3003),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, …): off unless an OTLP endpoint is set; documented in tracing's env.ts. */
  ...tracingEnv,
  /** Log level for the worker and the Temporal SDK. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

/** Where the Temporal SDK serves its metrics, or undefined when TEMPORAL_METRICS_BIND_ADDRESS is `off`. */
export function temporalMetricsBindAddress(env: Pick<Env, 'TEMPORAL_METRICS_BIND_ADDRESS' | 'HOST'>) {
  const address = env.TEMPORAL_METRICS_BIND_ADDRESS ?? `${env.HOST}:9464`;
  return address === 'off' ? undefined : address;
}
