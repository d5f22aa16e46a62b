import {
  type ActionActivity,
  type AutomationRunInput,
  actionActivityName,
  type JsonValue,
  type RunBookkeepingActivities,
} from '@autoflow/workflow-contracts';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';

// Bookkeeping runs as local activities: it shares the workflow task that schedules or completes
// the action, so recording a run costs database writes but no extra Temporal dispatch.
const bookkeeping = proxyLocalActivities<RunBookkeepingActivities>({
  startToCloseTimeout: '10 seconds',
  // Unlimited attempts: a run must not end unrecorded because Postgres blinked.
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

const SCHEDULED_START_TIME = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** A scheduled run's fire time, which Temporal records on every run a Schedule starts. */
function scheduledTime(): Date {
  return workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME) ?? workflowInfo().startTime;
}

/**
 * The run's workflow was deleted while the run was in flight (bookkeeping's `WorkflowDeleted`): nothing is
 * left to record into, so the run ends with that reason instead of retrying the record for ever.
 */
function workflowDeleted(error: unknown): ApplicationFailure | undefined {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  if (!(failure instanceof ApplicationFailure) || failure.type !== 'WorkflowDeleted') return undefined;
  return ApplicationFailure.create({
    message: failure.message,
    type: 'WorkflowDeleted',
    nonRetryable: true,
    cause: failure,
  });
}

function describeFailure(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One run: record the start, call the action, record the outcome. A local action does all three in one
 * local activity, so the run is a single workflow task; a queued action (a provider's rate-limited queue)
 * adds its activity dispatch and a second workflow task.
 */
export async function automationWorkflow(input: AutomationRunInput): Promise<JsonValue> {
  const { workflowId: temporalWorkflowId, runId } = workflowInfo();
  const triggerData =
    input.source === 'schedule' ? { scheduledTime: scheduledTime().toISOString() } : input.trigger.data;
  const started = {
    workflowId: input.workflowId,
    userId: input.userId,
    temporalWorkflowId,
    temporalRunId: runId,
    triggerData,
  };
  const action = {
    workflowId: input.workflowId,
    userId: input.userId,
    config: input.action.config,
    triggerData,
    credentialsId: input.action.credentialsId,
  };
  const { execution } = input.action;
  const retry = {
    maximumAttempts: execution.retry.maximumAttempts,
    initialInterval: execution.retry.initialIntervalMs,
    backoffCoefficient: execution.retry.backoffCoefficient,
    maximumInterval: execution.retry.maximumIntervalMs,
    nonRetryableErrorTypes: ['PermanentActionError'],
  };
  const activityName = actionActivityName(input.action.provider, input.action.actionId);

  try {
    if (execution.mode === 'local') {
      const recorded = proxyLocalActivities<RunBookkeepingActivities>({
        startToCloseTimeout: execution.startToCloseTimeoutMs,
        retry,
      });
      return await recorded.runRecordedAction({ activityName, action, started });
    }
    await bookkeeping.recordRunStarted(started);
    const runAction = proxyActivities<Record<string, ActionActivity>>({
      taskQueue: execution.taskQueue,
      startToCloseTimeout: execution.startToCloseTimeoutMs,
      heartbeatTimeout: execution.heartbeatTimeoutMs,
      retry,
    })[activityName];
    if (!runAction)
      throw ApplicationFailure.nonRetryable(`no activity ${activityName}`, 'PermanentActionError');
    const result = await runAction(action);
    await bookkeeping.recordRunFinished({
      temporalWorkflowId,
      status: 'completed',
      actionResult: result,
      errorMessage: null,
    });
    return result;
  } catch (error) {
    const deleted = workflowDeleted(error);
    if (deleted) throw deleted;
    // Recorded even when the run is being cancelled.
    await CancellationScope.nonCancellable(() =>
      bookkeeping.recordRunFinished({
        temporalWorkflowId,
        status: isCancellation(error) ? 'cancelled' : 'failed',
        actionResult: null,
        errorMessage: describeFailure(error),
      }),
    ).catch((recordError: unknown) => {
      throw workflowDeleted(recordError) ?? recordError;
    });
    throw error;
  }
}
