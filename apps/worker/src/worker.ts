import { fileURLToPath } from 'node:url';
import type { Database } from '@autoflow/db';
import type { CredentialService } from '@autoflow/oauth';
import type { ProviderRegistry } from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import type { Tracing } from '@autoflow/tracing';
import { TASK_QUEUES } from '@autoflow/workflow-contracts';
import type { DataConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { type NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { createActivitiesByQueue, type WorkerMetrics } from './activities.js';
import { createListenerActivities } from './listeners.js';
import { localBudgetInterceptor, TenantLocalBudget } from './local-budget.js';
import { type QueueWaitMetrics, queueWaitInterceptor } from './queue-wait.js';
import { selectTaskQueues } from './task-queue-selection.js';

/** Built by `pnpm build` (scripts: bundle-workflows): production never bundles at start-up. */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
/** The same workflows with OpenTelemetry's workflow interceptors, loaded only when tracing is on. */
export const TRACED_WORKFLOW_BUNDLE_PATH = fileURLToPath(
  new URL('./workflow-bundle-traced.js', import.meta.url),
);

export interface AutomationWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  /** Encrypted payloads (@autoflow/temporal-codec); the bundle was built with its failure converter. */
  dataConverter: DataConverter | undefined;
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
  /** Local actions one tenant may run at once in this process (each holds a workflow-task slot). */
  maxLocalActionsPerTenant: number;
  /** WORKER_TASK_QUEUES: `all`, or the comma-separated queues this process serves (selectTaskQueues). */
  taskQueues: string;
  /** At shutdown, how long in-flight activities may finish before they are cancelled. */
  shutdownGraceMs: number;
  /** The worker's metrics: runs, providers' quota, queue waits (AutoflowMetrics); none when absent. */
  metrics?: WorkerMetrics & QueueWaitMetrics;
  /** Spans for activities, and the sink of the workflow interceptors' spans (both inert when tracing is off). */
  tracing: Pick<Tracing, 'enabled' | 'activityInterceptors' | 'workflowSinks'>;
}

/**
 * Each account (credential) of a provider gets the provider's rate on its queue: a Temporal fairness-key
 * rate limit, held by the server, so it holds across every worker process, and tasks of different keys
 * are dispatched in turn (fairness needs `matching.enableFairness`, see temporal-dev-server.ts). The
 * queue itself has no overall limit: one account's backlog does not delay another's. False when the
 * server refused (older than 1.29, or no permission).
 */
async function limitEachAccount(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  requestsPerSecond: number,
): Promise<boolean> {
  try {
    await connection.workflowService.updateTaskQueueConfig({
      namespace,
      identity: `autoflow-worker@${process.pid}`,
      taskQueue,
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      updateFairnessKeyRateLimitDefault: {
        rateLimit: { requestsPerSecond },
        reason: "the provider's per-account quota",
      },
    });
    return true;
  } catch (error) {
    Runtime.instance().logger.warn(
      `no per-account rate limit on ${taskQueue}; the whole queue gets the provider's rate instead`,
      { error: error instanceof Error ? error.message : String(error) },
    );
    return false;
  }
}

/**
 * One Temporal worker per task queue: the main queue runs workflows, bookkeeping, local actions (inside
 * workflow tasks) and listener activities (a mailbox's history); `automation-actions` runs local actions
 * that left the local path; each rate-limited provider queue (gmail-queue, slack-queue, …) runs only its
 * provider's actions. A process serves only the queues `taskQueues` selects, so pools scale apart.
 */
export async function createAutomationWorkers(options: AutomationWorkersOptions): Promise<Worker[]> {
  const activitiesByQueue = createActivitiesByQueue(
    {
      db: options.db,
      registry: options.registry,
      httpDispatcher: options.httpDispatcher,
      credentials: options.credentials,
      providerSettings: options.providerSettings,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    },
    TASK_QUEUES.automation,
  );
  activitiesByQueue.set(TASK_QUEUES.automation, {
    ...activitiesByQueue.get(TASK_QUEUES.automation),
    ...createListenerActivities(options),
  });
  const served = selectTaskQueues(options.taskQueues, [...activitiesByQueue.keys()]);
  // Only the processes serving a provider queue set its limit.
  const queueLimits = new Map(
    options.registry.providers
      .flatMap((provider) => Object.entries(provider.queues ?? {}))
      .filter(([taskQueue]) => served.includes(taskQueue)),
  );
  // Queues whose accounts could not get their own limit fall back to one limit for the whole queue.
  const queueWideLimits = new Map<string, number>();
  for (const [taskQueue, { maxActivitiesPerSecond }] of queueLimits) {
    if (!(await limitEachAccount(options.connection, options.namespace, taskQueue, maxActivitiesPerSecond)))
      queueWideLimits.set(taskQueue, maxActivitiesPerSecond);
  }
  const localBudget = new TenantLocalBudget(options.maxLocalActionsPerTenant);
  const servedQueues = [...activitiesByQueue].filter(([taskQueue]) => served.includes(taskQueue));
  return Promise.all(
    servedQueues.map(([taskQueue, activities]) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue,
        activities,
        dataConverter: options.dataConverter,
        maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
        maxConcurrentLocalActivityExecutions: options.maxConcurrentActivities,
        maxTaskQueueActivitiesPerSecond: queueWideLimits.get(taskQueue),
        shutdownGraceTime: options.shutdownGraceMs,
        interceptors: {
          activity: [
            // Tracing's interceptor comes first, so the activity's span covers the budget check too.
            ...options.tracing.activityInterceptors,
            ...(options.metrics ? [queueWaitInterceptor(options.metrics)] : []),
            ...(taskQueue === TASK_QUEUES.automation
              ? [localBudgetInterceptor(localBudget, 'runRecordedAction')]
              : []),
          ],
        },
        ...(taskQueue === TASK_QUEUES.automation
          ? {
              workflowBundle: {
                codePath: options.tracing.enabled ? TRACED_WORKFLOW_BUNDLE_PATH : WORKFLOW_BUNDLE_PATH,
              },
              maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks,
              sinks: options.tracing.workflowSinks,
            }
          : {}),
      }),
    ),
  );
}
