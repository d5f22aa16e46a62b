import { z } from 'zod';

export const envSchema = z.object({
  /** Postgres: executions are recorded here. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** Temporal namespace every app of a deployment shares. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Keyring that opens credentials' tokens: "id:base64key[,…]". Required: the worker refuses to start without it. */
  ENCRYPTION_KEYS: z.string().min(1),
  /** Which key of ENCRYPTION_KEYS encrypts refreshed tokens; the first one when unset. */
  ENCRYPTION_CURRENT_KEY_ID: z.string().optional(),
  /**
   * `required` (default): every Temporal payload is encrypted and the worker refuses any it cannot
   * authenticate. `accept-plain`: encrypts, but still reads plain payloads, only while runs, Schedules and
   * mailbox workflows from before encryption finish. `off`: plain payloads, for the codec benchmark only.
   */
  TEMPORAL_PAYLOAD_ENCRYPTION: z.enum(['required', 'accept-plain', 'off']).default('required'),
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
  /** Postgres connections; bookkeeping runs two short writes per run. */
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /** Port of the health endpoints (/healthz, /readyz). */
  PORT: z.coerce.number().int().positive().default(3003),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** Log level for the worker and the Temporal SDK. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
