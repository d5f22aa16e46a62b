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
  const services = await startTestServices();
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('temporalAddress', services.temporalAddress);
  return () => services.stop();
}
