import { z } from 'zod';

export const envSchema = z.object({
  /** Postgres: oauth-service will own oauth_states and write credentials. */
  DATABASE_URL: z.string().url(),
  /** Temporal frontend, host:port; checked by /readyz. */
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** Port to listen on. */
  PORT: z.coerce.number().int().positive().default(3001),
  /** Interface to bind; 0.0.0.0 in containers. */
  HOST: z.string().default('127.0.0.1'),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
