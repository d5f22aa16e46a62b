import {
  ACTION_ACTIVITY_ID,
  type ActionActivity,
  type ActionExecutionOptions,
  type AutomationRunInput,
  accountFairnessKey,
  actionActivityName,
  DEFAULT_LOCAL_ATTEMPT_TIMEOUT_MS,
  type JsonValue,
  LOCAL_BUDGET_EXHAUSTED,
  type RunBookkeepingActivities,
  tenantFairnessKey,
} from '@autoflow/workflow-contracts';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  TimeoutFailure,
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
 * What the failed local attempt leaves to the regular activity: how many attempts it used and how long
 * to wait first, or nothing when the run fails here (a permanent error, a cancellation).
 */
export function afterLocalAttempt(error: unknown): { attemptsUsed: number; backoff: boolean } | undefined {
  if (isCancellation(error)) return undefined;
  // A local activity's failure arrives wrapped in an ActivityFailure or bare, depending on how it ended.
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof TimeoutFailure) return { attemptsUsed: 1, backoff: false };
  if (!(cause instanceof ApplicationFailure)) return undefined;
  if (cause.type === LOCAL_BUDGET_EXHAUSTED) return { attemptsUsed: 0, backoff: false };
  if (cause.nonRetryable) return undefined;
  // A fast failure (5xx, 429): back off before the next attempt, as a retry would.
  return { attemptsUsed: 1, backoff: true };
}

/**
 * Queued actions of an account share its provider's per-account rate limit (the fairness key's rate on
 * the provider's queue); everything else is dispatched fairly per tenant.
 */
function fairnessKey(input: AutomationRunInput, execution: ActionExecutionOptions): string {
  const { credentialsId } = input.action;
  return execution.mode === 'queued' && credentialsId !== null
    ? accountFairnessKey(credentialsId)
    : tenantFairnessKey(input.userId);
}

/**
 * One run: record the start, call the action, record the outcome. A local action does all three in one
 * local activity, so the run is a single workflow task; a queued action (a provider's rate-limited queue),
 * or a local one whose bounded local attempt did not succeed, adds its activity dispatch and a second
 * workflow task.
 */
export async function automationWorkflow(input: AutomationRunInput): Promise<JsonValue> {
  const { workflowId: temporalWorkflowId, runId, startTime } = workflowInfo();
  // The SDK adds the workflow id to the line: with the request id, one grep finds the request and the run.
  log.info('run started', { requestId: input.requestId, source: input.source });
  const triggerData =
    input.source === 'schedule' ? { scheduledTime: scheduledTime().toISOString() } : input.trigger.data;
  // The worker's run metrics: labels from the run's snapshot, latency from Temporal's acceptance.
  const metrics = {
    trigger: `${input.trigger.provider}.${input.trigger.triggerId}`,
    action: `${input.action.provider}.${input.action.actionId}`,
    acceptedAtMs: startTime.getTime(),
  };
  const started = {
    workflowId: input.workflowId,
    userId: input.userId,
    temporalWorkflowId,
    temporalRunId: runId,
    triggerData,
    metrics,
  };
  const action = {
    workflowId: input.workflowId,
    userId: input.userId,
    config: input.action.config,
    triggerData,
    credentialsId: input.action.credentialsId,
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
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
    let attemptsUsed = 0;
    if (execution.mode === 'local') {
      // One bounded attempt inside the workflow task: the common case, a run in one workflow task.
      const localAttempt = proxyLocalActivities<RunBookkeepingActivities>({
        startToCloseTimeout: execution.localAttemptTimeoutMs ?? DEFAULT_LOCAL_ATTEMPT_TIMEOUT_MS,
        retry: { maximumAttempts: 1 },
      });
      try {
        return await localAttempt.runRecordedAction({ activityName, action, started });
      } catch (error) {
        const next = afterLocalAttempt(error);
        // maximumAttempts 0 means unlimited, in Temporal as here.
        const exhausted = retry.maximumAttempts > 0 && (next?.attemptsUsed ?? 0) >= retry.maximumAttempts;
        if (!next || exhausted) throw error;
        attemptsUsed = next.attemptsUsed;
        if (next.backoff) await sleep(retry.initialInterval);
      }
    }
    // Idempotent: the local attempt may have recorded it already.
    await bookkeeping.recordRunStarted(started);
    const runAction = proxyActivities<Record<string, ActionActivity>>({
      taskQueue: execution.taskQueue,
      startToCloseTimeout: execution.startToCloseTimeoutMs,
      heartbeatTimeout: execution.heartbeatTimeoutMs,
      retry: {
        ...retry,
        maximumAttempts: retry.maximumAttempts > 0 ? retry.maximumAttempts - attemptsUsed : 0,
      },
      priority: { fairnessKey: fairnessKey(input, execution) },
      // The local attempt's id, so that every attempt sends the same idempotency key.
      ...(execution.mode === 'local' ? { activityId: ACTION_ACTIVITY_ID } : {}),
    })[activityName];
    if (!runAction)
      throw ApplicationFailure.nonRetryable(`no activity ${activityName}`, 'PermanentActionError');
    const result = await runAction(action);
    await bookkeeping.recordRunFinished({
      temporalWorkflowId,
      status: 'completed',
      actionResult: result,
      errorMessage: null,
      metrics,
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
        metrics,
      }),
    ).catch((recordError: unknown) => {
      throw workflowDeleted(recordError) ?? recordError;
    });
    throw error;
  }
}
