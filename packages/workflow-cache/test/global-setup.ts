import { testPostgres } from '@autoflow/local-stack';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** The Postgres of this run: TEST_DATABASE_URL (scripts/test sets it), or a throwaway embedded one. */
export default async function setup(project: TestProject) {
  const database = await testPostgres('workflow-cache', process.env.TEST_DATABASE_URL);
  project.provide('databaseUrl', database.url);
  return () => database.stop();
}
