import { createHash } from 'node:crypto';
import { type Database, workflowExecutions } from '@autoflow/db';
import { CredentialNeedsReconnectError, type CredentialService } from '@autoflow/oauth';
import {
  type ActionDefinition,
  type ActivityFunction,
  PermanentActionError,
  type ProviderRegistry,
  RetryableActionError,
  renderTemplates,
  toJson,
} from '@autoflow/provider-registry';
import {
  ACTION_ACTIVITY_ID,
  type ActionActivity,
  type ActionActivityInput,
  type RecordedActionInput,
  type RunBookkeepingActivities,
  type RunFinishedRecord,
  type RunStartedRecord,
} from '@autoflow/workflow-contracts';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import type { Dispatcher } from 'undici';

export interface ActivityDeps {
  db: Database;
  registry: ProviderRegistry;
  httpDispatcher: Dispatcher;
  credentials: CredentialService;
  env: Readonly<Record<string, string | undefined>>;
}

/** Same for every attempt of one action in one run, and nothing else: targets can deduplicate on it. */
export function idempotencyKeyOf(temporalWorkflowId: string, activityId: string): string {
  return createHash('sha256').update(`${temporalWorkflowId}\n${activityId}`).digest('hex').slice(0, 32);
}

function createBookkeeping(
  db: Database,
  actions: ReadonlyMap<string, ActionActivity>,
): RunBookkeepingActivities {
  const bookkeeping: RunBookkeepingActivities = {
    async recordRunStarted(record: RunStartedRecord) {
      // A new row, or the one a manual run recorded before it started.
      await db
        .insert(workflowExecutions)
        .values({
          workflowId: record.workflowId,
          userId: record.userId,
          temporalWorkflowId: record.temporalWorkflowId,
          temporalRunId: record.temporalRunId,
          status: 'running',
          triggerData: record.triggerData,
        })
        .onConflictDoUpdate({
          target: workflowExecutions.temporalWorkflowId,
          set: { temporalRunId: record.temporalRunId },
        });
    },
    async recordRunFinished(record: RunFinishedRecord) {
      await db
        .update(workflowExecutions)
        .set({
          status: record.status,
          actionResult: record.actionResult,
          errorMessage: record.errorMessage,
          completedAt: new Date(),
        })
        .where(eq(workflowExecutions.temporalWorkflowId, record.temporalWorkflowId));
    },
    async runRecordedAction({ activityName, action, started }: RecordedActionInput) {
      const run = actions.get(activityName);
      if (!run) throw ApplicationFailure.nonRetryable(`no action ${activityName}`, 'PermanentActionError');
      await bookkeeping.recordRunStarted(started);
      const result = await run(action);
      await bookkeeping.recordRunFinished({
        temporalWorkflowId: started.temporalWorkflowId,
        status: 'completed',
        actionResult: result,
        errorMessage: null,
      });
      return result;
    },
  };
  return bookkeeping;
}

/** Wraps a provider's action as a Temporal activity: templates, config check, failure classes. */
function actionActivity(action: ActionDefinition, deps: ActivityDeps): ActionActivity {
  return async (input: ActionActivityInput) => {
    const context = Context.current();
    const { credentialsId } = input;
    const temporalWorkflowId = context.info.workflowExecution?.workflowId;
    if (!temporalWorkflowId)
      throw ApplicationFailure.nonRetryable('actions run only inside a run', 'PermanentActionError');
    const rendered = renderTemplates(input.config, { trigger: input.triggerData });
    const config = action.config.safeParse(rendered);
    if (!config.success) {
      const problems = config.error.issues.map(
        (issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`,
      );
      throw ApplicationFailure.nonRetryable(
        `invalid config after templates: ${problems.join('; ')}`,
        'PermanentActionError',
      );
    }
    // Keep a queued attempt visibly alive during slow calls, so a dead worker is noticed within the
    // heartbeat timeout. (A local one lives inside the workflow task, which the SDK keeps alive.)
    const heartbeatEveryMs = Math.max(1_000, (context.info.heartbeatTimeoutMs ?? 30_000) / 3);
    const ticker = context.info.isLocal
      ? undefined
      : setInterval(() => context.heartbeat(), heartbeatEveryMs);
    try {
      const output = await action.run({
        config: config.data,
        // A local action's regular-activity attempts use ACTION_ACTIVITY_ID too: one key for the run.
        idempotencyKey: idempotencyKeyOf(
          temporalWorkflowId,
          context.info.isLocal ? ACTION_ACTIVITY_ID : context.info.activityId,
        ),
        signal: context.cancellationSignal,
        heartbeat: () => context.heartbeat(),
        attempt: context.info.attempt,
        httpDispatcher: deps.httpDispatcher,
        env: deps.env,
        credential:
          credentialsId === null
            ? undefined
            : { accessToken: () => deps.credentials.accessToken(credentialsId, input.userId) },
      });
      return toJson(output);
    } catch (error) {
      if (error instanceof CredentialNeedsReconnectError) {
        throw ApplicationFailure.create({
          message: error.message,
          type: 'CredentialNeedsReconnect',
          nonRetryable: true,
        });
      }
      if (error instanceof PermanentActionError) {
        throw ApplicationFailure.create({
          message: error.message,
          type: 'PermanentActionError',
          nonRetryable: true,
          ...(error.details === undefined ? {} : { details: [error.details] }),
        });
      }
      if (error instanceof RetryableActionError) {
        throw ApplicationFailure.create({
          message: error.message,
          type: 'RetryableActionError',
          ...(error.retryAfterMs === undefined ? {} : { nextRetryDelay: error.retryAfterMs }),
        });
      }
      throw error;
    } finally {
      clearInterval(ticker);
    }
  };
}

/** Activities grouped by the task queue that serves them; the main queue also gets the bookkeeping. */
export function createActivitiesByQueue(
  deps: ActivityDeps,
  mainQueue: string,
): Map<string, Record<string, ActivityFunction>> {
  const byQueue = new Map<string, Record<string, ActivityFunction>>();
  const localActions = new Map<string, ActionActivity>();
  for (const [name, action] of deps.registry.actionsByActivityName()) {
    const execution = deps.registry.executionOptions(action);
    const activity = actionActivity(action, deps);
    // A local action runs through runRecordedAction in the worker that runs the workflow, and as a
    // regular activity on its queue once it leaves the local path.
    if (execution.mode === 'local') localActions.set(name, activity);
    byQueue.set(execution.taskQueue, { ...byQueue.get(execution.taskQueue), [name]: activity });
  }
  byQueue.set(mainQueue, { ...byQueue.get(mainQueue), ...createBookkeeping(deps.db, localActions) });
  return byQueue;
}
