import type { Keyring } from '@autoflow/crypto';
import type { Database } from '@autoflow/db';
import {
  type ReadinessChecks,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import type { ProviderRegistry } from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import fp from 'fastify-plugin';
import { webhookRoutes } from './routes/webhooks.js';

export interface TriggerIngestDeps {
  db: Database;
  keyring: Keyring;
  registry: ProviderRegistry;
  runs: RunStarter;
  readiness: ReadinessChecks;
  maxBodyBytes: number;
}

/** Inbound events: webhooks now, Gmail's Pub/Sub push next. Each answers 2xx only once Temporal has the run. */
export const triggerIngest = fp<TriggerIngestDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow trigger-ingest',
      description: 'Inbound webhooks and push events',
    });
    registerProblemHandlers(app);
    registerHealthRoutes(app, deps.readiness);
    await app.register(webhookRoutes, deps);
  },
  { name: 'trigger-ingest' },
);
