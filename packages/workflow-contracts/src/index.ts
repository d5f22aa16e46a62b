// Everything a run's starter, its workflow and its activities must agree on.
// This module is imported by workflow code, so it stays deterministic: no I/O, no Node APIs.

export const TASK_QUEUES = {
  /** Workflow tasks and bookkeeping; local actions (HTTP) run inside these workflow tasks. */
  automation: 'automation-workflows',
  /**
   * Local actions that left the local path (a slow or failing target, or a tenant over its local
   * budget) run here as regular activities, dispatched fairly across tenants, so that they hold no
   * workflow-task slot.
   */
  actions: 'automation-actions',
} as const;

export const WORKFLOW_TYPES = {
  automation: 'automationWorkflow',
} as const;

/**
 * What fired a run; part of the run's Temporal workflow id. `event`: a listener's event (a new mail);
 * `rerun`: a re-run of an earlier execution through the API.
 */
export type RunSource = 'webhook' | 'manual' | 'schedule' | 'event' | 'rerun';

/**
 * The Temporal workflow id of one run. It is derived from the triggering event, so that Temporal itself
 * refuses a second run for the same event (a webhook id, a mail id, a fire time, an Idempotency-Key).
 */
export function runWorkflowId(workflowId: number, source: RunSource, eventId: string): string {
  return `run:${workflowId}:${source}:${eventId}`;
}

/**
 * The Temporal Schedule of a workflow with a schedule trigger. Its runs' ids are `run:{workflowId}:schedule`
 * plus the scheduled time, which Temporal appends, so each fire time runs once.
 */
export function scheduleId(workflowId: number): string {
  return `schedule:${workflowId}`;
}

/** An id in a Temporal workflow id that this module built: a positive int4, or undefined. */
function idIn(pattern: RegExp, temporalWorkflowId: string): number | undefined {
  const id = Number(pattern.exec(temporalWorkflowId)?.[1]);
  return Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647 ? id : undefined;
}

/** The workflow of a run's Temporal workflow id (`runWorkflowId`), or undefined for any other id. */
export function workflowIdOfRun(temporalWorkflowId: string): number | undefined {
  return idIn(/^run:(\d{1,10}):/, temporalWorkflowId);
}

/** The workflow of a Schedule's id (`scheduleId`), or undefined for any other id. */
export function workflowIdOfSchedule(scheduleOrWorkflowId: string): number | undefined {
  return idIn(/^schedule:(\d{1,10})$/, scheduleOrWorkflowId);
}

/** Event ids come from callers (headers); this keeps them short and printable. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A local attempt holds a workflow-task slot of its worker: it stays short, and a slower target continues
 * as a regular activity (design notes §11, slow targets).
 */
export const DEFAULT_LOCAL_ATTEMPT_TIMEOUT_MS = 3_000;

/** Retry policy of one action, in plain data so that it travels inside the run input. */
export interface ActionRetryPolicy {
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
}

/** How the action's activity is scheduled; resolved from the provider registry when the run starts. */
export interface ActionExecutionOptions {
  /**
   * `local`: one attempt as a local activity inside the workflow task, for short actions (HTTP): no
   * activity dispatch and one workflow task per run instead of two. That attempt is bounded by
   * `localAttemptTimeoutMs`; when it times out or fails retryably, or the tenant is over its local
   * budget, the remaining attempts run as a regular activity on `taskQueue`, so that a slow target holds
   * a workflow-task slot for at most that long. `queued`: a regular activity on `taskQueue`, for actions
   * that must be rate-limited per provider account (gmail-queue, slack-queue) or run long.
   */
  mode: 'local' | 'queued';
  /** Where the action runs as a regular activity: always when `queued`, after the local attempt when `local`. */
  taskQueue: string;
  /**
   * `local` only: the bound of the one attempt made inside the workflow task. Absent from runs started
   * before it existed: they use DEFAULT_LOCAL_ATTEMPT_TIMEOUT_MS.
   */
  localAttemptTimeoutMs?: number;
  startToCloseTimeoutMs: number;
  /** `queued` only: lets a dead worker's attempt be retried quickly instead of waiting for the whole timeout. */
  heartbeatTimeoutMs: number;
  retry: ActionRetryPolicy;
}

/**
 * A snapshot of the workflow taken when the run starts: later edits do not change a run in flight.
 * It carries a credential's id, never a token or secret.
 */
export interface AutomationRunInput {
  workflowId: number;
  userId: number;
  source: RunSource;
  /**
   * The id of the HTTP request that started the run (`x-request-id`, see http-kit's request-id.ts), so
   * that one id finds the API's log lines, the run and its activity log lines. Absent for runs no request
   * started directly (schedules, mail found by the mailbox listener).
   */
  requestId?: string;
  trigger: { provider: string; triggerId: string; data: JsonValue };
  action: {
    provider: string;
    actionId: string;
    config: JsonObject;
    credentialsId: number | null;
    execution: ActionExecutionOptions;
  };
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * Failure type of a local attempt refused because its tenant already runs its share of local actions in
 * this worker process; the action then runs as a regular activity and the attempt does not count.
 */
export const LOCAL_BUDGET_EXHAUSTED = 'LocalBudgetExhausted';

/**
 * The activity id of a local action in every path it takes (local attempt, regular activity), so that
 * its idempotency key stays the same for every attempt of one run.
 */
export const ACTION_ACTIVITY_ID = 'action';

/**
 * Temporal fairness keys (task-queue fairness, server ≥ 1.29 with `matching.enableFairness`): tasks are
 * dispatched in turn across keys, and a provider queue limits each key to its per-account rate.
 */
export function tenantFairnessKey(userId: number): string {
  return `tenant:${userId}`;
}

export function accountFairnessKey(credentialId: number): string {
  return `credential:${credentialId}`;
}

/** The activity name of an action: `${provider}.${actionId}`. */
export function actionActivityName(provider: string, actionId: string): string {
  return `${provider}.${actionId}`;
}

export interface ActionActivityInput {
  workflowId: number;
  userId: number;
  config: JsonObject;
  triggerData: JsonValue;
  credentialsId: number | null;
  /** The run's request id, for the action's log lines only (see AutomationRunInput). */
  requestId?: string;
}

export type ActionActivity = (input: ActionActivityInput) => Promise<JsonValue>;

/**
 * What the worker's metrics count a run by (bounded labels: no user, workflow or credential id) and
 * when its event was accepted, the start of the run's latency.
 */
export interface RunMetricLabels {
  /** `provider.triggerId`, e.g. `webhook.receive`. */
  trigger: string;
  /** `provider.actionId`, e.g. `http.request`. */
  action: string;
  /** When Temporal accepted the run (the workflow's start time), in ms since the epoch. */
  acceptedAtMs: number;
}

export interface RunStartedRecord {
  workflowId: number;
  userId: number;
  temporalWorkflowId: string;
  temporalRunId: string;
  triggerData: JsonValue;
  /** Absent in local activities scheduled before it existed: such runs are not counted. */
  metrics?: RunMetricLabels;
}

export interface RunFinishedRecord {
  temporalWorkflowId: string;
  status: Exclude<RunStatus, 'running'>;
  actionResult: JsonValue | null;
  errorMessage: string | null;
  /** Absent in local activities scheduled before it existed: such runs are not counted. */
  metrics?: RunMetricLabels;
}

export interface RecordedActionInput {
  activityName: string;
  action: ActionActivityInput;
  started: RunStartedRecord;
}

/** Bookkeeping that every run does around its action; run as local activities (no extra dispatch). */
export interface RunBookkeepingActivities {
  recordRunStarted(record: RunStartedRecord): Promise<void>;
  recordRunFinished(record: RunFinishedRecord): Promise<void>;
  /**
   * A local action with its bookkeeping in one local activity: records the start while the action runs,
   * then records the success. A run then costs one workflow task and two SDK activations; each extra local
   * activity would add an activation and a history marker. Failures are recorded by the workflow.
   */
  runRecordedAction(input: RecordedActionInput): Promise<JsonValue>;
}

// --- Gmail mailbox listener (design notes §4) ---------------------------------------------------------

/**
 * The one long-lived workflow per connected Gmail mailbox (its signals and input are the Gmail provider's).
 * Its id stays here: temporal-codec tells a payload's owner by it.
 */
export function gmailMailboxWorkflowId(credentialId: number): string {
  return `gmail-mailbox:${credentialId}`;
}

/** The listener workflow of another provider for one credential (Slack's workspace workflow, …). */
export function listenerWorkflowId(providerId: string, credentialId: number): string {
  return `${providerId}-listener:${credentialId}`;
}

/**
 * The credential of a listener workflow's id (`gmailMailboxWorkflowId`, `listenerWorkflowId`), or
 * undefined for any other id.
 */
export function credentialIdOfMailbox(temporalWorkflowId: string): number | undefined {
  return idIn(/^(?:gmail-mailbox|[a-z0-9-]{1,50}-listener):(\d{1,10})$/, temporalWorkflowId);
}

export interface GmailWatchResult {
  /** False when no active workflow reads this mailbox any more: the watch was stopped. */
  watching: boolean;
  /** The mailbox's historyId when the watch started; the cursor to start from. */
  historyId: string | null;
  renewWatchAt: number | null;
}

export interface GmailHistoryResult {
  /** The new cursor: the mailbox's historyId when its history was read. */
  cursor: string;
  cursorTime: number;
  messagesSeen: number;
  runsStarted: number;
  /** Runs that can never start (Temporal refused them, their action is gone): skipped, recorded as failed. */
  runsRefused?: number;
  /** True when the cursor had expired (404) and the mailbox was resynced by date. */
  resynced: boolean;
}

/** Activities of the mailbox workflow (registered by the Gmail provider in the worker). */
export interface GmailMailboxActivities {
  /** Starts, renews or stops the mailbox's users.watch to match its active workflows. */
  gmailSyncWatch(input: { credentialId: number; renew: boolean }): Promise<GmailWatchResult>;
  /** Reads history after the cursor (all pages) and starts a run per new mail and matching workflow. */
  gmailProcessHistory(input: {
    credentialId: number;
    cursor: string;
    cursorTime: number | null;
  }): Promise<GmailHistoryResult>;
}

export * from './limits.js';
export * from './storable.js';
