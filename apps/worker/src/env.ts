import { temporalConnectionEnv } from '@autoflow/temporal-connection';
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
  /** Keyring that opens credentials' tokens: "id:base64key[,…]". Required with KEY_PROVIDER=env (the worker refuses to start without it); with Vault, only to read values sealed before the switch. */
  ENCRYPTION_KEYS: z.string().optional(),
  /** Which key of ENCRYPTION_KEYS encrypts refreshed tokens; the first one when unset. */
  ENCRYPTION_CURRENT_KEY_ID: z.string().optional(),
  /** Where the keys of secrets at rest live: "env" (ENCRYPTION_KEYS, the default) or "vault-transit" (HashiCorp Vault). */
  KEY_PROVIDER: z.enum(['env', 'vault-transit']).default('env'),
  /** Vault's address, e.g. https://vault.example.com:8200 (KEY_PROVIDER=vault-transit). */
  VAULT_ADDR: z.string().url().optional(),
  /** A Vault token allowed to use the Transit key; or use AppRole below. */
  VAULT_TOKEN: z.string().min(1).optional(),
  /** AppRole login (instead of VAULT_TOKEN): the role id. */
  VAULT_ROLE_ID: z.string().min(1).optional(),
  /** AppRole login: the secret id. */
  VAULT_SECRET_ID: z.string().min(1).optional(),
  /** Where the Transit engine is mounted. */
  VAULT_TRANSIT_MOUNT: z.string().min(1).default('transit'),
  /** The Transit key that wraps the data keys (required with KEY_PROVIDER=vault-transit). */
  VAULT_TRANSIT_KEY: z.string().min(1).optional(),
  /** Vault Enterprise namespace, sent as X-Vault-Namespace. */
  VAULT_NAMESPACE: z.string().min(1).optional(),
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
