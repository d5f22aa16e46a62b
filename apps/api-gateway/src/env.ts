import { z } from 'zod';

export const envSchema = z.object({
  /** Postgres holding users, workflows, credentials and executions. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** Temporal namespace every app of a deployment shares. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** HS256 key for the JWTs this app issues and every app verifies (at least 32 characters). */
  JWT_SECRET: z.string().min(32),
  /** Keyring for secrets at rest: "id:base64key[,id:base64key…]". Required: the app refuses to start without it. */
  ENCRYPTION_KEYS: z.string().min(1),
  /** Which key of ENCRYPTION_KEYS encrypts new values; the first one when unset. */
  ENCRYPTION_CURRENT_KEY_ID: z.string().optional(),
  /** Public base URL of trigger-ingest; webhook URLs shown to users start with it. */
  PUBLIC_WEBHOOK_BASE_URL: z.string().url().default('http://localhost:3002'),
  /** Accept plain-http provider endpoints (local fakes in tests). Never in production. */
  OAUTH_ALLOW_HTTP_ENDPOINTS: z.enum(['true', 'false']).default('false'),
  /** Port to listen on. */
  PORT: z.coerce.number().int().positive().default(3000),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
