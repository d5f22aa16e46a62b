import type { FieldEncryption } from '@autoflow/crypto';
import type { Database } from '@autoflow/db';
import {
  answeredProblem,
  type ReadinessChecks,
  registerHealthRoutes,
  registerOpenApi,
  registerProblemHandlers,
} from '@autoflow/http-kit';
import type { ProviderRegistry, PushVerifier } from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import type { Client } from '@temporalio/client';
import fp from 'fastify-plugin';
import { GMAIL_PUSH_ALIAS, pushRoutes } from './routes/push.js';
import { type WorkflowsByHook, webhookRoutes } from './routes/webhooks.js';

export type { WorkflowsByHook } from './routes/webhooks.js';

export interface TriggerIngestDeps {
  db: Database;
  /** The workflow each hook id routes to: @autoflow/workflow-cache's WebhookWorkflowCache, or a direct read. */
  workflowsByHook: WorkflowsByHook;
  keyring: FieldEncryption;
  registry: ProviderRegistry;
  runs: RunStarter;
  temporal: Client;
  /** Each push endpoint's verifier (ProviderRegistry.pushVerifiers); undefined where push is not configured (401). */
  pushVerifiers: ReadonlyMap<string, PushVerifier | undefined>;
  readiness: ReadinessChecks;
  maxBodyBytes: number;
  /** Counts refused events by source and reason (AutoflowMetrics); none when absent. */
  rejections?: IngestRejections;
}

export interface IngestRejections {
  /** `source`: `webhook`, or `{provider}_push` (gmail_push, …). */
  ingestRejected(source: string, reason: string): void;
}

/** The source a refused request is counted under, by its route template. */
function ingestSource(routeUrl: string | undefined, params: unknown): string | undefined {
  if (routeUrl === '/hooks/:hookId') return 'webhook';
  if (routeUrl === GMAIL_PUSH_ALIAS) return 'gmail_push';
  if (routeUrl === '/push/:provider' && params !== null && typeof params === 'object' && 'provider' in params)
    return `${String(params.provider)}_push`;
  return undefined;
}

/** Inbound events: webhooks and the push endpoints providers declare. Each answers 2xx only once Temporal has the event. */
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
        const source = ingestSource(request.routeOptions.url, request.params);
        const problem = answeredProblem(reply);
        if (source && problem && reply.statusCode >= 400)
          rejections.ingestRejected(source, problem.reason ?? problem.code);
      });
    }
    registerHealthRoutes(app, deps.readiness);
    await app.register(webhookRoutes, deps);
    await app.register(pushRoutes, deps);
  },
  { name: 'trigger-ingest' },
);
