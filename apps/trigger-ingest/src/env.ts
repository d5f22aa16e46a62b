import { unsetWhenEmpty } from '@autoflow/http-kit';
import { GOOGLE_JWKS_URL } from '@autoflow/provider-gmail';
import { temporalConnectionEnv } from '@autoflow/temporal-connection';
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
  /** Keyring that opens webhook signing secrets: "id:base64key[,…]". Required with KEY_PROVIDER=env; with Vault, only to read values sealed before the switch. */
  ENCRYPTION_KEYS: z.string().optional(),
  /** Which key of ENCRYPTION_KEYS is current; the first one when unset. */
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
  /** Port to listen on. */
  PORT: z.coerce.number().int().positive().default(3002),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
