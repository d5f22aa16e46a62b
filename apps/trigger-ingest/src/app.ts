import type { FieldEncryption } from '@autoflow/crypto';
import type { Database } from '@autoflow/db';
import {
  answeredProblem,
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
  /** Counts refused events by source and reason (AutoflowMetrics); none when absent. */
  rejections?: IngestRejections;
}

export interface IngestRejections {
  ingestRejected(source: 'webhook' | 'gmail_push', reason: string): void;
}

/** The routes whose refusals are counted, by their template. */
const INGEST_SOURCES = new Map<string, 'webhook' | 'gmail_push'>([
  ['/hooks/:hookId', 'webhook'],
  ['/pubsub/gmail', 'gmail_push'],
]);

/** Inbound events: webhooks and Gmail's Pub/Sub push. Each answers 2xx only once Temporal has the event. */
export const triggerIngest = fp<TriggerIngestDeps>(
  async (app, deps) => {
    await registerOpenApi(app, {
      title: 'autoflow trigger-ingest',
      description: 'Inbound webhooks and push events',
    });
    registerProblemHandlers(app);
    const { rejections } = deps;
    if (rejections) {
      // By the code the sender got (invalid_signature, invalid_token, …), or its finer reason.
      app.addHook('onResponse', async (request, reply) => {
        const source = INGEST_SOURCES.get(request.routeOptions.url ?? '');
        const problem = answeredProblem(reply);
        if (source && problem && reply.statusCode >= 400)
          rejections.ingestRejected(source, problem.reason ?? problem.code);
      });
    }
    registerHealthRoutes(app, deps.readiness);
    await app.register(webhookRoutes, deps);
    await app.register(gmailPushRoutes, deps);
  },
  { name: 'trigger-ingest' },
);
