export { createDatabase, type Database, type DatabaseHandle, type DatabaseOptions } from './client.js';
export { migrationsFolder, runMigrations } from './migrate.js';
export * from './schema.js';
