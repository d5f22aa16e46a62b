import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOpenApiDocument } from '@autoflow/client';
import { startTestServices } from '@autoflow/local-stack';
import type { TestProject } from 'vitest/node';
import { observedRouteStatuses, readObservedAnswers, undeclaredAnswers } from './observed-statuses.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    /** Where every test worker records the answers the apps gave it (observed-statuses.ts). */
    observedStatusesDir: string;
  }
}

/** Postgres and Temporal for this run: the ones scripts/test started, or fresh throwaway ones. */
export default async function setup(project: TestProject) {
  const services = await startTestServices({
    databaseUrl: process.env.TEST_DATABASE_URL,
    temporalAddress: process.env.TEST_TEMPORAL_ADDRESS,
    temporalCliPath: process.env.TEMPORAL_CLI_PATH,
  });
  const observedStatusesDir = await mkdtemp(join(tmpdir(), 'autoflow-e2e-answers-'));
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('temporalAddress', services.temporalAddress);
  project.provide('observedStatusesDir', observedStatusesDir);
  return async () => {
    try {
      // After every file, however they ran: no route answered a status the committed document omits.
      const answers = readObservedAnswers(observedStatusesDir);
      const document = readOpenApiDocument();
      const undeclared = undeclaredAnswers(document, answers);
      console.log(
        `OpenAPI check: ${answers.length} answers, ${observedRouteStatuses(document, answers).size} (route, status) pairs, ${undeclared.length} undeclared`,
      );
      if (undeclared.length > 0) {
        const lines = undeclared.map(
          ({ route, status, files }) => `  ${route} answered ${status} (${files.join(', ')})`,
        );
        console.error(`routes answered statuses the OpenAPI document omits:\n${lines.join('\n')}`);
        // Vitest reports an error thrown here but still exits 0: the run must fail.
        process.exitCode = 1;
      }
    } finally {
      await rm(observedStatusesDir, { recursive: true, force: true });
      await services.stop();
    }
  };
}
