import { fileURLToPath } from 'node:url';
import type { Database } from '@autoflow/db';
import type { CredentialService } from '@autoflow/oauth';
import type { ProviderRegistry } from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import { TASK_QUEUES } from '@autoflow/workflow-contracts';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { createActivitiesByQueue } from './activities.js';
import { createListenerActivities } from './listeners.js';

/** Built by `pnpm build` (scripts: bundle-workflows): production never bundles at start-up. */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));

export interface AutomationWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  db: Database;
  registry: ProviderRegistry;
  httpDispatcher: Dispatcher;
  credentials: CredentialService;
  /** Starts runs from listener workflows' events (a new mail). */
  runs: RunStarter;
  /** Each provider's settings (resolveProviderSettings), parsed once at start. */
  providerSettings: ReadonlyMap<string, unknown>;
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
}

/**
 * One Temporal worker per task queue: the main queue runs workflows, bookkeeping, generic actions and
 * listener activities (a mailbox's history); each rate-limited provider queue (gmail-queue,
 * slack-queue, …) runs only its provider's actions.
 */
export async function createAutomationWorkers(options: AutomationWorkersOptions): Promise<Worker[]> {
  const activitiesByQueue = createActivitiesByQueue(
    {
      db: options.db,
      registry: options.registry,
      httpDispatcher: options.httpDispatcher,
      credentials: options.credentials,
      providerSettings: options.providerSettings,
    },
    TASK_QUEUES.automation,
  );
  activitiesByQueue.set(TASK_QUEUES.automation, {
    ...activitiesByQueue.get(TASK_QUEUES.automation),
    ...createListenerActivities(options),
  });
  const queueLimits = new Map(
    options.registry.providers.flatMap((provider) => Object.entries(provider.queues ?? {})),
  );
  return Promise.all(
    [...activitiesByQueue].map(([taskQueue, activities]) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        activities,
        maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
        maxConcurrentLocalActivityExecutions: options.maxConcurrentActivities,
        // A provider queue runs at most its provider's quota, across every worker process.
        maxTaskQueueActivitiesPerSecond: queueLimits.get(taskQueue)?.maxActivitiesPerSecond,
        ...(taskQueue === TASK_QUEUES.automation
          ? {
              workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
              maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks,
            }
          : {}),
      }),
    ),
  );
}
