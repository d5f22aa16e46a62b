import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// A static bundle: Caddy serves dist/ on the API's own origin, so the app calls relative /api/… URLs and
// needs no build-time configuration (nothing from the environment is compiled in).
export default defineConfig({
  plugins: [react()],
  envPrefix: 'AUTOFLOW_CONSOLE_PUBLIC_',
  build: { outDir: 'dist', sourcemap: false, reportCompressedSize: true },
  server: {
    // `pnpm --filter @autoflow/console dev` beside ./scripts/stack: the API through the dev proxy.
    proxy: { '/api': 'http://localhost:8080' },
  },
});
