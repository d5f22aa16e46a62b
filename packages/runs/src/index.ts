import { randomUUID } from 'node:crypto';
import { type Database, type Workflow, workflowExecutions } from '@autoflow/db';
import type { ProviderRegistry } from '@autoflow/provider-registry';
import { toJson } from '@autoflow/provider-registry';
import {
  type AutomationRunInput,
  type JsonValue,
  type RunSource,
  runWorkflowId,
  storableJson,
  TASK_QUEUES,
  tenantFairnessKey,
  WORKFLOW_TYPES,
} from '@autoflow/workflow-contracts';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';

/** The columns of a workflow row that a run's snapshot is taken from. */
export type RunnableWorkflow = Pick<
  Workflow,
  | 'id'
  | 'userId'
  | 'triggerProvider'
  | 'triggerId'
  | 'actionProvider'
  | 'actionId'
  | 'actionConfig'
  | 'actionCredentialsId'
>;

export interface RunEvent {
  workflow: RunnableWorkflow;
  source: RunSource;
  /** Identifies the triggering event; the same id never starts a second run. Random when absent. */
  eventId?: string;
  triggerData: JsonValue;
  /** The HTTP request that started the run (its `x-request-id`), carried in the run's input for its logs. */
  requestId?: string;
  /** The execution this run re-runs; recorded on the new execution (startRecorded only). */
  rerunOf?: number;
}

export interface StartedRun {
  temporalWorkflowId: string;
  /** False when this event had already started a run (a redelivery), or when it cannot run. */
  started: boolean;
  /**
   * Why the event cannot run at all (its action is no longer installed): it is recorded as a failed
   * execution with this reason, and senders should not retry it.
   */
  unavailable?: string;
}

export class UnknownActionError extends Error {
  override name = 'UnknownActionError';
}

export interface RunStarterDeps {
  db: Database;
  temporal: Client;
  registry: ProviderRegistry;
}

/** Starts runs for every kind of trigger: webhooks, manual runs and, later, mail and schedules. */
export class RunStarter {
  constructor(private readonly deps: RunStarterDeps) {}

  /**
   * The run's input. Its trigger data is made storable here, the choke point every run passes:
   * U+0000 and lone surrogates, which Postgres refuses, become U+FFFD (see workflow-contracts' storable.ts).
   */
  buildInput(event: RunEvent): AutomationRunInput {
    const { workflow } = event;
    const action = this.deps.registry.action(workflow.actionProvider, workflow.actionId);
    if (!action)
      throw new UnknownActionError(`${workflow.actionProvider}.${workflow.actionId} is not installed`);
    const actionConfig = toJson(workflow.actionConfig);
    return {
      workflowId: workflow.id,
      userId: workflow.userId,
      source: event.source,
      ...(event.requestId === undefined ? {} : { requestId: event.requestId }),
      trigger: {
        provider: workflow.triggerProvider,
        triggerId: workflow.triggerId,
        data: storableJson(event.triggerData),
      },
      action: {
        provider: workflow.actionProvider,
        actionId: workflow.actionId,
        config:
          actionConfig !== null && typeof actionConfig === 'object' && !Array.isArray(actionConfig)
            ? actionConfig
            : {},
        credentialsId: workflow.actionCredentialsId,
        execution: this.deps.registry.executionOptions(action),
      },
    };
  }

  /** Why a workflow cannot run at all, or undefined when it can. */
  private unavailable(workflow: RunnableWorkflow): string | undefined {
    return this.deps.registry.action(workflow.actionProvider, workflow.actionId)
      ? undefined
      : `the action ${workflow.actionProvider}.${workflow.actionId} is not installed`;
  }

  /**
   * Records an event that cannot run as a failed execution with its reason (once per event id), so
   * that the event is not lost without a trace although no run starts. Returns the execution's id.
   */
  private async recordUnavailable(event: RunEvent, temporalWorkflowId: string, reason: string) {
    const { db } = this.deps;
    const [inserted] = await db
      .insert(workflowExecutions)
      .values({
        workflowId: event.workflow.id,
        userId: event.workflow.userId,
        temporalWorkflowId,
        status: 'failed',
        triggerData: storableJson(event.triggerData),
        errorMessage: reason,
        rerunOf: event.rerunOf ?? null,
        acceptedAt: new Date(),
        completedAt: new Date(),
      })
      .onConflictDoNothing({ target: workflowExecutions.temporalWorkflowId })
      .returning({ id: workflowExecutions.id });
    if (inserted) return inserted.id;
    return this.existingExecutionId(temporalWorkflowId, event.workflow.userId);
  }

  /** The execution an earlier delivery of the same event recorded (an insert that found it there). */
  private async existingExecutionId(temporalWorkflowId: string, userId: number): Promise<number> {
    const [existing] = await this.deps.db
      .select({ id: workflowExecutions.id })
      .from(workflowExecutions)
      .where(
        and(
          eq(workflowExecutions.temporalWorkflowId, temporalWorkflowId),
          eq(workflowExecutions.userId, userId),
        ),
      );
    if (!existing) throw new Error('the execution row vanished between insert and select');
    return existing.id;
  }

  /**
   * Resolves once Temporal has accepted the run (or had already accepted it for this event). An event
   * that cannot run resolves with `unavailable`, recorded as a failed execution.
   */
  async start(event: RunEvent): Promise<StartedRun> {
    const temporalWorkflowId = runWorkflowId(event.workflow.id, event.source, event.eventId ?? randomUUID());
    const unavailable = this.unavailable(event.workflow);
    if (unavailable) {
      await this.recordUnavailable(event, temporalWorkflowId, unavailable);
      return { temporalWorkflowId, started: false, unavailable };
    }
    try {
      await this.deps.temporal.workflow.start(WORKFLOW_TYPES.automation, {
        taskQueue: TASK_QUEUES.automation,
        workflowId: temporalWorkflowId,
        args: [this.buildInput(event)],
        // Even after the first run of this event has closed, its id is not reused.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // Workflow tasks are dispatched in turn across tenants: one tenant's burst does not queue others.
        priority: { fairnessKey: tenantFairnessKey(event.workflow.userId) },
      });
      return { temporalWorkflowId, started: true };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError)
        return { temporalWorkflowId, started: false };
      throw error;
    }
  }

  /**
   * Like `start`, but first records the execution so that the caller can answer with its id
   * (the API's manual run). The same event id answers the same execution.
   */
  async startRecorded(event: RunEvent): Promise<StartedRun & { executionId: number }> {
    const eventId = event.eventId ?? randomUUID();
    const temporalWorkflowId = runWorkflowId(event.workflow.id, event.source, eventId);
    const unavailable = this.unavailable(event.workflow);
    if (unavailable) {
      const executionId = await this.recordUnavailable(event, temporalWorkflowId, unavailable);
      return { temporalWorkflowId, started: false, unavailable, executionId };
    }
    const { db } = this.deps;
    const [inserted] = await db
      .insert(workflowExecutions)
      .values({
        workflowId: event.workflow.id,
        userId: event.workflow.userId,
        temporalWorkflowId,
        status: 'running',
        triggerData: storableJson(event.triggerData),
        rerunOf: event.rerunOf ?? null,
        acceptedAt: new Date(),
      })
      .onConflictDoNothing({ target: workflowExecutions.temporalWorkflowId })
      .returning({ id: workflowExecutions.id });
    if (!inserted) {
      const existingId = await this.existingExecutionId(temporalWorkflowId, event.workflow.userId);
      // A first attempt may have recorded the row and then failed to reach Temporal: starting again is safe.
      const started = await this.start({ ...event, eventId });
      return { ...started, executionId: existingId };
    }
    try {
      const started = await this.start({ ...event, eventId });
      return { ...started, executionId: inserted.id };
    } catch (error) {
      // Temporal refused or was down: drop the row so that nothing shows a run that never started.
      await db.delete(workflowExecutions).where(eq(workflowExecutions.id, inserted.id));
      throw error;
    }
  }
}
export { type ExecutionChange, ExecutionChanges } from './execution-changes.js';
export {
  type BulkRerun,
  type BulkRerunItem,
  ExecutionControl,
  type ExecutionControlDeps,
  ExecutionNotRunningError,
  IdempotencyKeyReusedError,
  MAX_BULK_RERUN,
  type RerunMode,
  SnapshotUnavailableError,
} from './execution-control.js';
export { type ExecutionTimings, executionTimings, temporalUiRunUrl } from './execution-views.js';
export { type ListeningWorkflow, TriggerListeners } from './listeners.js';
export { type ScheduledWorkflow, ScheduleManager, type ScheduleManagerDeps } from './schedules.js';
