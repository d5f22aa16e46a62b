import {
  type Database,
  type TriggerListener,
  triggerListeners,
  type Workflow,
  workflowExecutions,
  workflows,
} from '@autoflow/db';
import type { CredentialService } from '@autoflow/oauth';
import {
  type ActivityFunction,
  type ListenerRecord,
  type ListenerServices,
  type ProviderRegistry,
  toJson,
} from '@autoflow/provider-registry';
import type { RunStarter } from '@autoflow/runs';
import type { JsonValue } from '@autoflow/workflow-contracts';
import { runWorkflowId } from '@autoflow/workflow-contracts';
import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import type { Dispatcher } from 'undici';
import { providerUsage, type WorkerMetrics } from './activities.js';

export interface ListenerDeps {
  db: Database;
  registry: ProviderRegistry;
  credentials: CredentialService;
  runs: RunStarter;
  httpDispatcher: Dispatcher;
  /** Each provider's settings, parsed once at start; a listener gets only its own provider's. */
  providerSettings: ReadonlyMap<string, unknown>;
  /** Counts providers' quota spent by listener calls (Gmail's history reads, watches). */
  metrics?: WorkerMetrics;
}

function toRecord(row: TriggerListener): ListenerRecord {
  return {
    account: row.account,
    cursor: row.cursor,
    watchedAt: row.watchedAt,
    watchExpiresAt: row.watchExpiresAt,
  };
}

/** gRPC INVALID_ARGUMENT: Temporal refuses the start itself (e.g. an input over its blob size limit). */
const GRPC_INVALID_ARGUMENT = 3;

/**
 * Why a run can never start, or undefined when retrying may help (Temporal or Postgres unavailable).
 * An uninstalled action is not an error here: RunStarter records it and answers `unavailable`.
 */
function permanentStartFailure(error: unknown): string | undefined {
  if (
    error instanceof ServiceError &&
    isGrpcServiceError(error.cause) &&
    error.cause.code === GRPC_INVALID_ARGUMENT
  ) {
    return `Temporal refused the run: ${error.cause.details || error.message}`;
  }
  return undefined;
}

/**
 * Starts a listener's run. A run that can never start is recorded as a failed execution (so its owner
 * sees why) and reported as a non-retryable failure, which the listener skips instead of retrying.
 */
async function startListenerRun(
  deps: ListenerDeps,
  workflow: Workflow,
  eventId: string,
  triggerData: JsonValue,
): Promise<{ started: boolean }> {
  try {
    const run = await deps.runs.start({ workflow, source: 'event', eventId, triggerData });
    return { started: run.started };
  } catch (error) {
    const reason = permanentStartFailure(error);
    if (reason === undefined) throw error;
    await deps.db
      .insert(workflowExecutions)
      .values({
        workflowId: workflow.id,
        userId: workflow.userId,
        temporalWorkflowId: runWorkflowId(workflow.id, 'event', eventId),
        status: 'failed',
        triggerData: { eventId },
        errorMessage: `the run could not start: ${reason}`,
        completedAt: new Date(),
      })
      .onConflictDoNothing({ target: workflowExecutions.temporalWorkflowId })
      .catch(() => {
        // The workflow was deleted meanwhile: nobody to tell.
      });
    throw ApplicationFailure.create({
      message: `run of workflow ${workflow.id} for event ${eventId} cannot start: ${reason}`,
      type: 'RunNotStartable',
      nonRetryable: true,
    });
  }
}

/** What one provider's listener activities may use: its subscribers, its records, tokens and runs. */
function listenerServices(providerId: string, deps: ListenerDeps): ListenerServices {
  const { db } = deps;
  const usage = providerUsage(providerId, deps.metrics);
  return {
    httpDispatcher: deps.httpDispatcher,
    settings: deps.providerSettings.get(providerId) ?? {},
    ...(usage ? { usage } : {}),
    // The listener reads its own account: no owner to check against, so no owner lookup first.
    withAccessTokenFor: (credentialId, url, use) =>
      deps.credentials.withAccessTokenFor(credentialId, url, {}, use),
    async subscribers(credentialId) {
      const rows = await db
        .select()
        .from(workflows)
        .where(
          and(
            eq(workflows.triggerCredentialsId, credentialId),
            eq(workflows.triggerProvider, providerId),
            eq(workflows.isActive, true),
          ),
        );
      return rows.map((workflow) => ({
        workflowId: workflow.id,
        triggerConfig: workflow.triggerConfig,
        actionConfig: toJson(workflow.actionConfig),
        startRun: (eventId, triggerData) => startListenerRun(deps, workflow, eventId, triggerData),
      }));
    },
    records: {
      async get(credentialId) {
        const [row] = await db
          .select()
          .from(triggerListeners)
          .where(eq(triggerListeners.credentialId, credentialId));
        return row && toRecord(row);
      },
      async save(credentialId, record) {
        const values = { ...record, provider: providerId, updatedAt: new Date() };
        await db
          .insert(triggerListeners)
          .values({ credentialId, ...values })
          .onConflictDoUpdate({ target: triggerListeners.credentialId, set: values });
      },
      async saveCursor(credentialId, cursor) {
        await db
          .update(triggerListeners)
          .set({ cursor, updatedAt: new Date() })
          .where(eq(triggerListeners.credentialId, credentialId));
      },
      async remove(credentialId) {
        await db.delete(triggerListeners).where(eq(triggerListeners.credentialId, credentialId));
      },
    },
  };
}

/** The listener activities of every installed provider (Gmail's mailbox activities, …). */
export function createListenerActivities(deps: ListenerDeps): Record<string, ActivityFunction> {
  const activities: Record<string, ActivityFunction> = {};
  for (const provider of deps.registry.providers) {
    if (!provider.listenerActivities) continue;
    Object.assign(activities, provider.listenerActivities(listenerServices(provider.id, deps)));
  }
  return activities;
}
