import type { FieldEncryption } from '@autoflow/crypto';
import type { Database } from '@autoflow/db';
import {
  type ReadinessChecks,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import type { ProviderRegistry } from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import type { Client } from '@temporalio/client';
import fp from 'fastify-plugin';
import { gmailPushRoutes } from './routes/gmail-push.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface TriggerIngestDeps {
  db: Database;
  keyring: FieldEncryption;
  registry: ProviderRegistry;
  runs: RunStarter;
  temporal: Client;
  /** Checks a Pub/Sub push's OIDC token; undefined when Gmail push is not configured (pushes answer 401). */
  verifyPush: ((authorization: string | undefined) => Promise<void>) | undefined;
  readiness: ReadinessChecks;
  maxBodyBytes: number;
}

/** Inbound events: webhooks and Gmail's Pub/Sub push. Each answers 2xx only once Temporal has the event. */
export const triggerIngest = fp<TriggerIngestDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow trigger-ingest',
      description: 'Inbound webhooks and push events',
    });
    registerProblemHandlers(app);
    registerHealthRoutes(app, deps.readiness);
    await app.register(webhookRoutes, deps);
    await app.register(gmailPushRoutes, deps);
  },
  { name: 'trigger-ingest' },
);
