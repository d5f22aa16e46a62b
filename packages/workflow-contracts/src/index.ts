// Everything a run's starter, its workflow and its activities must agree on.
// This module is imported by workflow code, so it stays deterministic: no I/O, no Node APIs.

export const TASK_QUEUES = {
  /** Workflow tasks, bookkeeping and generic actions (HTTP), so those can be dispatched eagerly. */
  automation: 'automation-workflows',
} as const;

export const WORKFLOW_TYPES = {
  automation: 'automationWorkflow',
  gmailMailbox: 'gmailMailboxWorkflow',
} as const;

/** What fired a run; part of the run's Temporal workflow id. `event`: a listener's event (a new mail). */
export type RunSource = 'webhook' | 'manual' | 'schedule' | 'event';

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

/** Event ids come from callers (headers); this keeps them short and printable. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

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
   * `local`: a local activity inside the workflow task, for short actions (HTTP): no activity dispatch and
   * one workflow task per run instead of two. `queued`: a regular activity on `taskQueue`, for actions
   * that must be rate-limited per provider (gmail-queue, slack-queue) or run long.
   */
  mode: 'local' | 'queued';
  /** Used when `mode` is `queued`. */
  taskQueue: string;
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
}

export type ActionActivity = (input: ActionActivityInput) => Promise<JsonValue>;

export interface RunStartedRecord {
  workflowId: number;
  userId: number;
  temporalWorkflowId: string;
  temporalRunId: string;
  triggerData: JsonValue;
}

export interface RunFinishedRecord {
  temporalWorkflowId: string;
  status: Exclude<RunStatus, 'running'>;
  actionResult: JsonValue | null;
  errorMessage: string | null;
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
   * A local action with its bookkeeping in one local activity: records the start, runs the action and
   * records the success. A run then costs one workflow task and two SDK activations; each extra local
   * activity would add an activation and a history marker. Failures are recorded by the workflow.
   */
  runRecordedAction(input: RecordedActionInput): Promise<JsonValue>;
}

// --- Gmail mailbox listener (design notes §4) ---------------------------------------------------------

/**
 * The one long-lived workflow per connected Gmail mailbox. It is the single writer of the mailbox's
 * history cursor; trigger-ingest and the API only signal it (signal-with-start).
 */
export function gmailMailboxWorkflowId(credentialId: number): string {
  return `gmail-mailbox:${credentialId}`;
}

export const GMAIL_MAILBOX_SIGNALS = {
  /** A Pub/Sub push said the mailbox changed: `{historyId}`. */
  notification: 'gmailNotification',
  /** A Gmail workflow of this mailbox was activated, deactivated, edited or deleted. */
  subscriptionsChanged: 'gmailSubscriptionsChanged',
} as const;

export interface GmailNotification {
  /** Gmail's historyId, as a decimal string: it may exceed 2^53, so it is never a JS number. */
  historyId: string;
}

/** What a mailbox workflow carries across continue-as-new. */
export interface GmailMailboxState {
  /** The newest historyId fully processed, or null before the first watch. */
  cursor: string | null;
  /** The highest historyId announced and not yet processed. */
  announced: string | null;
  /** When the watch must be renewed (epoch ms), or null when not watching. */
  renewWatchAt: number | null;
  /** Start of the resync window if the cursor expires: when the cursor was last known good (epoch ms). */
  cursorTime: number | null;
  /** While the mailbox cannot be used (revoked grant, no topic): when to try again (epoch ms). */
  unusableUntil: number | null;
}

export interface GmailMailboxInput {
  credentialId: number;
  state?: GmailMailboxState;
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
