import { createHash } from 'node:crypto';
import { type Database, workflowExecutions, workflows } from '@autoflow/db';
import { CredentialNeedsReconnectError, type CredentialService } from '@autoflow/oauth';
import {
  type ActionDefinition,
  type ActivityFunction,
  ownerListedHosts,
  PermanentActionError,
  type ProviderRegistry,
  type ProviderUsage,
  RenderLimitExceeded,
  RetryableActionError,
  renderTemplates,
  renderUrlFields,
  TokenRejectedError,
  toJson,
  UrlTemplateError,
} from '@autoflow/provider-registry';
import {
  ACTION_ACTIVITY_ID,
  type ActionActivity,
  type ActionActivityInput,
  type JsonValue,
  type RecordedActionInput,
  type RunBookkeepingActivities,
  type RunFinishedRecord,
  type RunStartedRecord,
  storableJson,
  storableText,
  workflowIdOfRun,
} from '@autoflow/workflow-contracts';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import type { Dispatcher } from 'undici';

export interface ActivityDeps {
  db: Database;
  registry: ProviderRegistry;
  httpDispatcher: Dispatcher;
  credentials: CredentialService;
  /** Each provider's settings, parsed once at start; an action gets only its own provider's. */
  providerSettings: ReadonlyMap<string, unknown>;
  /** The worker's metrics (runs, providers' quota); none in tests that do not count. */
  metrics?: WorkerMetrics;
}

/** What the worker's activities report: runs, and providers' quota spent (AutoflowMetrics implements it). */
export interface WorkerMetrics extends RunMetrics {
  quotaSpent(provider: string, method: string, units: number): void;
}

/** A provider's view of the quota counter: its own id is the label, whatever it reports. */
export function providerUsage(
  providerId: string,
  metrics: WorkerMetrics | undefined,
): ProviderUsage | undefined {
  return metrics && { quotaSpent: (method, units) => metrics.quotaSpent(providerId, method, units) };
}

/** Same for every attempt of one action in one run, and nothing else: targets can deduplicate on it. */
export function idempotencyKeyOf(temporalWorkflowId: string, activityId: string): string {
  return createHash('sha256').update(`${temporalWorkflowId}\n${activityId}`).digest('hex').slice(0, 32);
}

/** Postgres's foreign_key_violation, on the error or on the cause a driver wrapper (drizzle) keeps. */
function isForeignKeyViolation(error: unknown): boolean {
  for (let current = error, hops = 0; current && hops < 5; hops++) {
    if (typeof current !== 'object') return false;
    if ('code' in current && current.code === '23503') return true;
    current = 'cause' in current ? current.cause : undefined;
  }
  return false;
}

/**
 * The run's workflow (and with it its executions) was deleted while the run was in flight: nothing is
 * left to record into, and retrying cannot bring it back. The run ends with this reason.
 */
function workflowDeleted(workflowId: number): ApplicationFailure {
  // No cause: the driver's error quotes the query's parameters (trigger data), which stay out of Temporal.
  return ApplicationFailure.create({
    message: `workflow ${workflowId} was deleted while this run was in flight; its outcome is not recorded`,
    type: 'WorkflowDeleted',
    nonRetryable: true,
  });
}

/** What the bookkeeping reports to the worker's metrics (AutoflowMetrics); labels are bounded. */
export interface RunMetrics {
  runStarted(labels: { trigger: string; action: string }): void;
  runFinished(
    labels: { trigger: string; action: string },
    status: RunFinishedRecord['status'],
    durationSeconds: number,
  ): void;
}

function createBookkeeping(
  db: Database,
  actions: ReadonlyMap<string, ActionActivity>,
  metrics: RunMetrics | undefined,
): RunBookkeepingActivities {
  const bookkeeping: RunBookkeepingActivities = {
    async recordRunStarted(record: RunStartedRecord) {
      // A new row, or the one a manual run recorded before it started. A row comes back only when this
      // run's start is recorded for the first time: a repeated record (a retry, the queued path after a
      // local attempt) changes nothing and is not counted again.
      const recorded = await db
        .insert(workflowExecutions)
        .values({
          workflowId: record.workflowId,
          userId: record.userId,
          temporalWorkflowId: record.temporalWorkflowId,
          temporalRunId: record.temporalRunId,
          status: 'running',
          triggerData: record.triggerData,
          acceptedAt: record.metrics ? new Date(record.metrics.acceptedAtMs) : null,
          runStartedAt: new Date(),
        })
        .onConflictDoUpdate({
          target: workflowExecutions.temporalWorkflowId,
          set: {
            temporalRunId: record.temporalRunId,
            runStartedAt: sql`coalesce(${workflowExecutions.runStartedAt}, now())`,
          },
          setWhere: sql`${workflowExecutions.temporalRunId} is distinct from excluded.temporal_run_id`,
        })
        .returning({ id: workflowExecutions.id })
        .catch((error: unknown) => {
          if (isForeignKeyViolation(error)) throw workflowDeleted(record.workflowId);
          throw error;
        });
      if (recorded.length > 0 && record.metrics) metrics?.runStarted(record.metrics);
    },
    async recordRunFinished(record: RunFinishedRecord) {
      // The row as it was, so that only the first outcome recorded for a run is counted (a retried write,
      // or a failure recorded after a local attempt had recorded its success, is not counted twice).
      const before = db
        .$with('before')
        .as(
          db
            .select({ id: workflowExecutions.id, completedAt: workflowExecutions.completedAt })
            .from(workflowExecutions)
            .where(eq(workflowExecutions.temporalWorkflowId, record.temporalWorkflowId)),
        );
      const updated = await db
        .with(before)
        .update(workflowExecutions)
        .set({
          status: record.status,
          // A target's answer may hold text Postgres refuses (U+0000): stored as U+FFFD, like event data.
          actionResult: record.actionResult === null ? null : storableJson(record.actionResult),
          // A cancelled run says why: the reason given to the API's cancel, when it was cancelled there.
          errorMessage:
            record.status === 'cancelled'
              ? sql`coalesce(${workflowExecutions.cancelReason}, ${storableText(record.errorMessage ?? 'cancelled')})`
              : record.errorMessage === null
                ? null
                : storableText(record.errorMessage),
          // The successful attempt; failed ones are counted as they fail (recordAttemptFailed).
          attempts:
            record.status === 'completed'
              ? sql`${workflowExecutions.attempts} + (case when ${before.completedAt} is null then 1 else 0 end)`
              : workflowExecutions.attempts,
          completedAt: new Date(),
        })
        .from(before)
        .where(eq(workflowExecutions.id, before.id))
        .returning({ id: workflowExecutions.id, firstOutcome: sql<boolean>`${before.completedAt} is null` });
      const [row] = updated;
      if (row) {
        if (row.firstOutcome && record.metrics) {
          const seconds = (Date.now() - record.metrics.acceptedAtMs) / 1000;
          metrics?.runFinished(record.metrics, record.status, seconds);
        }
        return;
      }
      // No row: it went with its workflow (deleted during the action), or the start was never recorded.
      const workflowId = workflowIdOfRun(record.temporalWorkflowId);
      if (workflowId === undefined) return;
      const [workflow] = await db
        .select({ id: workflows.id })
        .from(workflows)
        .where(eq(workflows.id, workflowId));
      if (!workflow) throw workflowDeleted(workflowId);
    },
    async runRecordedAction({ activityName, action, started }: RecordedActionInput) {
      const run = actions.get(activityName);
      if (!run) throw ApplicationFailure.nonRetryable(`no action ${activityName}`, 'PermanentActionError');
      // The start's commit (an fsync) runs beside the action instead of before it, off the path from the
      // event to the side effect; a slow action still shows `running` as soon as it lands. Both settle
      // before anything else is written, so that a failed attempt is counted on the row the start made.
      const startRecorded = bookkeeping.recordRunStarted(started);
      const [start, attempt] = await Promise.allSettled([startRecorded, run(action)]);
      if (start.status === 'rejected') throw start.reason;
      if (attempt.status === 'rejected') {
        await recordAttemptFailed(db, started.temporalWorkflowId, attempt.reason);
        throw attempt.reason;
      }
      const result = attempt.value;
      await bookkeeping.recordRunFinished({
        temporalWorkflowId: started.temporalWorkflowId,
        status: 'completed',
        actionResult: result,
        errorMessage: null,
        ...(started.metrics ? { metrics: started.metrics } : {}),
      });
      return result;
    },
  };
  return bookkeeping;
}

/**
 * Counts a failed attempt of a run's action and keeps its message as the run's last failure, for the
 * execution's detail. Best effort: an attempt cut off by a crash or a timeout may go uncounted, and a
 * failure to record must not replace the action's own error.
 */
async function recordAttemptFailed(db: Database, temporalWorkflowId: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await db
    .update(workflowExecutions)
    .set({
      attempts: sql`${workflowExecutions.attempts} + 1`,
      lastFailure: storableText(message.slice(0, 2_000)),
      lastFailureAt: new Date(),
    })
    .where(eq(workflowExecutions.temporalWorkflowId, temporalWorkflowId))
    .catch(() => {});
}

/** Renders the URL fields of a config (encoded values, origin kept); a broken one fails the run for good. */
function withRenderedUrls(
  action: ActionDefinition,
  input: ActionActivityInput,
  rendered: JsonValue,
): JsonValue {
  try {
    return renderUrlFields(action, input.config, rendered, { trigger: input.triggerData });
  } catch (error) {
    if (error instanceof RenderLimitExceeded) throw limitExceeded(error);
    if (!(error instanceof UrlTemplateError)) throw error;
    throw ApplicationFailure.nonRetryable(
      `invalid config after templates: ${error.message}`,
      'PermanentActionError',
    );
  }
}

function limitExceeded(error: RenderLimitExceeded): ApplicationFailure {
  return ApplicationFailure.create({ message: error.message, type: 'LimitExceeded', nonRetryable: true });
}

/** Templates within the per-run bounds (design notes §11); past them the run fails, never retried. */
function renderOrFail(input: ActionActivityInput) {
  try {
    return renderTemplates(input.config, { trigger: input.triggerData });
  } catch (error) {
    if (error instanceof RenderLimitExceeded) throw limitExceeded(error);
    throw error;
  }
}

/**
 * Wraps a provider's action as a Temporal activity: templates, config check, failure classes. It records
 * nothing: the caller counts a failed attempt (countingFailures, or runRecordedAction once the start is in).
 */
function actionActivity(providerId: string, action: ActionDefinition, deps: ActivityDeps): ActionActivity {
  const settings = deps.providerSettings.get(providerId) ?? {};
  const usage = providerUsage(providerId, deps.metrics);
  const attempt = async (input: ActionActivityInput, context: Context, temporalWorkflowId: string) => {
    const { credentialsId } = input;
    // The SDK adds the workflow id and activity type: the request id joins the action to its request.
    context.log.info('action started', { requestId: input.requestId, attempt: context.info.attempt });
    const rendered = renderOrFail(input);
    const config = action.config.safeParse(withRenderedUrls(action, input, rendered));
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
        settings,
        ...(usage ? { usage } : {}),
        credential:
          credentialsId === null
            ? undefined
            : {
                // The platform, not the action, decides where the token may go: the owner's list is
                // read from the stored config, never from a rendered template.
                withAccessTokenFor: (url, use) =>
                  deps.credentials.withAccessTokenFor(
                    credentialsId,
                    url,
                    { userId: input.userId, listedHosts: ownerListedHosts(action, input.config) },
                    use,
                  ),
              },
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
      if (error instanceof TokenRejectedError) {
        // Refused again right after a renewal: another try would only be refused a third time.
        throw ApplicationFailure.create({
          message: `the provider refused the credential's renewed token: ${error.message}`,
          type: 'CredentialRejected',
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
  return async (input: ActionActivityInput) => {
    const context = Context.current();
    const temporalWorkflowId = context.info.workflowExecution?.workflowId;
    if (!temporalWorkflowId)
      throw ApplicationFailure.nonRetryable('actions run only inside a run', 'PermanentActionError');
    return attempt(input, context, temporalWorkflowId);
  };
}

/** The action as a regular activity: each failed attempt is counted on the run's execution row. */
function countingFailures(db: Database, attempt: ActionActivity): ActionActivity {
  return async (input: ActionActivityInput) => {
    try {
      return await attempt(input);
    } catch (error) {
      const temporalWorkflowId = Context.current().info.workflowExecution?.workflowId;
      if (temporalWorkflowId) await recordAttemptFailed(db, temporalWorkflowId, error);
      throw error;
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
  for (const { activityName: name, provider, action } of deps.registry.actionEntries()) {
    const execution = deps.registry.executionOptions(action);
    const attempt = actionActivity(provider.id, action, deps);
    // A local action runs through runRecordedAction in the worker that runs the workflow (which counts
    // its failure itself), and as a regular activity on its queue once it leaves the local path.
    if (execution.mode === 'local') localActions.set(name, attempt);
    byQueue.set(execution.taskQueue, {
      ...byQueue.get(execution.taskQueue),
      [name]: countingFailures(deps.db, attempt),
    });
  }
  byQueue.set(mainQueue, {
    ...byQueue.get(mainQueue),
    ...createBookkeeping(deps.db, localActions, deps.metrics),
  });
  return byQueue;
}
