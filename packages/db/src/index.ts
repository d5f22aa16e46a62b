export { createDatabase, type Database, type DatabaseHandle, type DatabaseOptions } from './client.js';
export { migrationsFolder, runMigrations } from './migrate.js';
export type { NotificationChannel, NotificationListener } from './notifications.js';
export {
  hitRateLimit,
  postgresRateLimitCounter,
  pruneRateLimits,
  type RateLimitHit,
} from './rate-limits.js';
export { type ReencryptProgress, reencryptSecrets } from './reencrypt.js';
export * from './schema.js';
