import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The workflow tests start a local Temporal server and bundle the workflow code once per file.
    hookTimeout: 60_000,
    testTimeout: 20_000,
  },
});
