import { randomUUID } from 'node:crypto';
import {
  type Database,
  rerunBatches,
  type Workflow,
  type WorkflowExecution,
  workflowExecutions,
} from '@autoflow/db';
import { toJson } from '@autoflow/provider-registry';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { RunnableWorkflow, RunStarter, StartedRun } from './index.js';

/**
 * `original`: the trigger data and the action exactly as the execution ran them (its run input, read
 * back from Temporal's history). `current`: the same trigger data through the workflow as it is now.
 */
export type RerunMode = 'original' | 'current';

/** Executions one bulk re-run starts at most; the rest are left for another call (with another key). */
export const MAX_BULK_RERUN = 500;

/** Re-runs a bulk call starts at once. */
const BULK_CONCURRENCY = 8;

export class ExecutionNotRunningError extends Error {
  override name = 'ExecutionNotRunningError';
  constructor(readonly status: string) {
    super(`the execution is ${status}, not running`);
  }
}

/** The execution's run input is gone from Temporal (past the namespace's retention), or it never ran. */
export class SnapshotUnavailableError extends Error {
  override name = 'SnapshotUnavailableError';
}

/** An Idempotency-Key already used for a bulk re-run of another workflow or mode. */
export class IdempotencyKeyReusedError extends Error {
  override name = 'IdempotencyKeyReusedError';
}

export interface ExecutionControlDeps {
  db: Database;
  temporal: Client;
  runs: RunStarter;
}

export interface BulkRerunItem {
  rerunOf: number;
  /** The new execution; null when none could be started (`error` says why). */
  executionId: number | null;
  error?: 'original_snapshot_unavailable' | 'action_unavailable';
}

export interface BulkRerun {
  batchId: number;
  mode: RerunMode;
  items: BulkRerunItem[];
}

/** The part of a run input that `original` re-runs take from history; the rest is re-derived. */
const runSnapshot = z.object({
  trigger: z.object({ provider: z.string(), triggerId: z.string() }),
  action: z.object({
    provider: z.string(),
    actionId: z.string(),
    config: z.record(z.string(), z.unknown()),
    credentialsId: z.number().int().nullable(),
  }),
});

/** Re-runs and cancellation of executions. Callers pass rows they have checked belong to the caller. */
export class ExecutionControl {
  constructor(private readonly deps: ExecutionControlDeps) {}

  /**
   * The workflow as the execution ran it: its run input's trigger and action (config, credential), read
   * from the first event of its Temporal history and opened with the client's data converter.
   */
  async originalWorkflow(workflow: Workflow, execution: WorkflowExecution): Promise<RunnableWorkflow> {
    if (!execution.temporalRunId) throw new SnapshotUnavailableError('the execution never ran in Temporal');
    const { temporal } = this.deps;
    const handle = temporal.workflow.getHandle(execution.temporalWorkflowId, execution.temporalRunId);
    const history = await handle.fetchHistory().catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError)
        throw new SnapshotUnavailableError("the run's history is no longer kept by Temporal");
      throw error;
    });
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const [input] = await decodeArrayFromPayloads(
      temporal.workflow.options.loadedDataConverter,
      started?.input?.payloads,
      { type: 'workflow', namespace: temporal.options.namespace, workflowId: execution.temporalWorkflowId },
    );
    const snapshot = runSnapshot.safeParse(input);
    if (!snapshot.success) throw new SnapshotUnavailableError('the run input is not readable');
    const { trigger, action } = snapshot.data;
    return {
      id: workflow.id,
      userId: workflow.userId,
      triggerProvider: trigger.provider,
      triggerId: trigger.triggerId,
      actionProvider: action.provider,
      actionId: action.actionId,
      actionConfig: toJson(action.config),
      actionCredentialsId: action.credentialsId,
    };
  }

  /**
   * Starts a new execution with the same trigger data, linked to the original (`rerunOf`). The same
   * `eventId` answers the same new execution.
   */
  async rerun(
    workflow: Workflow,
    execution: WorkflowExecution,
    mode: RerunMode,
    options: { eventId?: string; requestId?: string } = {},
  ): Promise<StartedRun & { executionId: number }> {
    const runnable = mode === 'original' ? await this.originalWorkflow(workflow, execution) : workflow;
    return this.deps.runs.startRecorded({
      workflow: runnable,
      source: 'rerun',
      // The original's id leads: the same key on two executions starts two re-runs.
      eventId: `${execution.id}:${options.eventId ?? randomUUID()}`,
      triggerData: toJson(execution.triggerData ?? null),
      rerunOf: execution.id,
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    });
  }

  /**
   * Asks Temporal to cancel the run; the worker records it as `cancelled` with `reason` once the run
   * stops. A run Temporal no longer knows (its row was left running) is recorded cancelled here.
   */
  async cancel(execution: WorkflowExecution, reason: string): Promise<WorkflowExecution> {
    const { db, temporal } = this.deps;
    const [marked] = await db
      .update(workflowExecutions)
      .set({
        cancelRequestedAt: sql`coalesce(${workflowExecutions.cancelRequestedAt}, now())`,
        cancelReason: sql`coalesce(${workflowExecutions.cancelReason}, ${reason})`,
      })
      .where(and(eq(workflowExecutions.id, execution.id), eq(workflowExecutions.status, 'running')))
      .returning();
    if (!marked) throw new ExecutionNotRunningError((await this.reread(execution)).status);
    try {
      await temporal.workflow.getHandle(execution.temporalWorkflowId).cancel();
      return marked;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    // Closed in Temporal: either it recorded its outcome meanwhile, or nothing will ever record it.
    const [closed] = await db
      .update(workflowExecutions)
      .set({ status: 'cancelled', errorMessage: reason, completedAt: new Date() })
      .where(and(eq(workflowExecutions.id, execution.id), eq(workflowExecutions.status, 'running')))
      .returning();
    if (closed) return closed;
    throw new ExecutionNotRunningError((await this.reread(execution)).status);
  }

  private async reread(execution: WorkflowExecution): Promise<WorkflowExecution> {
    const [row] = await this.deps.db
      .select()
      .from(workflowExecutions)
      .where(eq(workflowExecutions.id, execution.id));
    if (!row) throw new ExecutionNotRunningError('deleted');
    return row;
  }

  /**
   * Re-runs every failed execution of the workflow that has no running or completed re-run yet (at most
   * MAX_BULK_RERUN, oldest first). The executions are chosen once per Idempotency-Key, in the statement
   * that stores the key; calling again with the key starts nothing new and answers the same executions
   * (it also finishes a batch a crash interrupted).
   */
  async rerunFailed(
    workflow: Workflow,
    idempotencyKey: string,
    mode: RerunMode,
    options: { requestId?: string } = {},
  ): Promise<BulkRerun> {
    const batch = await this.batchFor(workflow, idempotencyKey, mode);
    const { db } = this.deps;
    const executions =
      batch.executionIds.length === 0
        ? []
        : await db
            .select()
            .from(workflowExecutions)
            .where(
              and(
                inArray(workflowExecutions.id, batch.executionIds),
                eq(workflowExecutions.userId, workflow.userId),
              ),
            );
    const byId = new Map(executions.map((row) => [row.id, row]));
    const items: BulkRerunItem[] = [];
    const queue = [...batch.executionIds];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const execution = byId.get(id);
        // Deleted since the batch was chosen (with its workflow): nothing to re-run.
        if (!execution) continue;
        items.push(await this.rerunInBatch(workflow, execution, batch.id, mode, options.requestId));
      }
    };
    await Promise.all(Array.from({ length: BULK_CONCURRENCY }, worker));
    items.sort((a, b) => a.rerunOf - b.rerunOf);
    return { batchId: batch.id, mode, items };
  }

  private async rerunInBatch(
    workflow: Workflow,
    execution: WorkflowExecution,
    batchId: number,
    mode: RerunMode,
    requestId: string | undefined,
  ): Promise<BulkRerunItem> {
    try {
      const run = await this.rerun(workflow, execution, mode, {
        eventId: `batch-${batchId}`,
        ...(requestId === undefined ? {} : { requestId }),
      });
      return run.unavailable
        ? { rerunOf: execution.id, executionId: run.executionId, error: 'action_unavailable' }
        : { rerunOf: execution.id, executionId: run.executionId };
    } catch (error) {
      if (error instanceof SnapshotUnavailableError)
        return { rerunOf: execution.id, executionId: null, error: 'original_snapshot_unavailable' };
      throw error;
    }
  }

  /** The batch of this key: stored now with the failed executions chosen, or as an earlier call stored it. */
  private async batchFor(workflow: Workflow, idempotencyKey: string, mode: RerunMode) {
    const { db } = this.deps;
    const rerun = sql.raw('r');
    const failed = sql`
      select coalesce(array_agg(chosen.id order by chosen.id), '{}') from (
        select e.id from ${workflowExecutions} e
        where e.workflow_id = ${workflow.id} and e.status = 'failed'
          and not exists (
            select 1 from ${workflowExecutions} ${rerun}
            where ${rerun}.rerun_of = e.id and ${rerun}.status in ('running', 'completed'))
        order by e.id
        limit ${MAX_BULK_RERUN}) chosen`;
    const [inserted] = await db
      .insert(rerunBatches)
      .values({
        userId: workflow.userId,
        workflowId: workflow.id,
        idempotencyKey,
        mode,
        executionIds: sql`(${failed})`,
      })
      .onConflictDoNothing({ target: [rerunBatches.userId, rerunBatches.idempotencyKey] })
      .returning();
    if (inserted) return inserted;
    const [existing] = await db
      .select()
      .from(rerunBatches)
      .where(and(eq(rerunBatches.userId, workflow.userId), eq(rerunBatches.idempotencyKey, idempotencyKey)));
    if (!existing) throw new Error('the batch vanished between insert and select');
    if (existing.workflowId !== workflow.id || existing.mode !== mode)
      throw new IdempotencyKeyReusedError(
        'this Idempotency-Key was used for a bulk re-run of another workflow or mode',
      );
    return existing;
  }
}
