import { defineConfig } from 'vitest/config';

// tests/e2e's setup: the run's Postgres and Temporal (or throwaway ones), and the check that every answer
// the apps gave (the browser's included) is declared in the OpenAPI document.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['../e2e/src/global-setup.ts'],
    setupFiles: ['../e2e/src/setup-recorder.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
