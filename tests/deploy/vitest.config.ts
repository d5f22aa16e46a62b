import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each helm call takes a fraction of a second; a loaded two-core machine can stretch that a lot.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
