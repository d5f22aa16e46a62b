import { startTestServices } from '@autoflow/local-stack';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
  }
}

/** Postgres and Temporal for this run: the ones scripts/test started, or fresh throwaway ones. */
export default async function setup(project: TestProject) {
  const services = await startTestServices({
    databaseUrl: process.env.TEST_DATABASE_URL,
    temporalAddress: process.env.TEST_TEMPORAL_ADDRESS,
    temporalCliPath: process.env.TEMPORAL_CLI_PATH,
  });
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('temporalAddress', services.temporalAddress);
  return () => services.stop();
}
