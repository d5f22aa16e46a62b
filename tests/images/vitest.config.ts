import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./src/global-setup.ts'],
    // One image after the other: each build already keeps both cores busy.
    fileParallelism: false,
    // A cold image build (prune, install, tsc over its packages, deploy) takes minutes on two loaded cores.
    testTimeout: 900_000,
    hookTimeout: 300_000,
  },
});
