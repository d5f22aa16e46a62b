import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

// Every autoflow_* metric is defined here, once: its name, help text and labels. Labels stay bounded:
// route templates, provider.trigger and provider.action ids, reasons and outcomes from the code, never
// a user, tenant, credential or hook id.

/** Seconds; an HTTP answer is usually milliseconds, a webhook waits for Temporal's acceptance. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; from a local action's sub-second run to a queued action retried for minutes. */
const RUN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];
/** Seconds an action waited in its task queue; rate-limited queues wait long by design. */
const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type RunOutcome = 'completed' | 'failed' | 'cancelled';

/** A run's bounded labels: `provider.triggerId` and `provider.actionId` (e.g. `gmail.receive-email`). */
export interface RunLabels {
  trigger: string;
  action: string;
}

/** Outcome of one refresh grant: a new token, the provider refusing the refresh token, or no answer. */
export type TokenRefreshOutcome = 'success' | 'refused' | 'failed';

/** Where trigger-ingest found a hook's workflow (@autoflow/workflow-cache's LookupResult). */
export type WebhookWorkflowLookupResult = 'hit' | 'miss' | 'bypass';

export interface AutoflowMetricsOptions {
  /** The `app` label on every metric of this process (api-gateway, worker, …). */
  app: string;
  /** Also the Node.js process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

/**
 * The metrics of one process, on a registry of its own (so that tests can create several). Each app
 * creates one and hands it, as the small recorder interfaces the packages declare (OAuthMetrics,
 * ProviderUsage, …), to whatever records.
 */
export class AutoflowMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'autoflow_http_request_duration_seconds',
    help: 'HTTP requests answered, by route template, method and status code, and how long they took',
    labelNames: ['method', 'route', 'status_code'],
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly runsStarted = new Counter({
    name: 'autoflow_runs_started_total',
    help: 'Runs whose start was recorded (an execution row became running), by trigger and action',
    labelNames: ['trigger', 'action'],
    registers: [this.registry],
  });

  readonly runsFinished = new Counter({
    name: 'autoflow_runs_finished_total',
    help: 'Runs whose outcome was recorded, by trigger, action and status (completed, failed, cancelled)',
    labelNames: ['trigger', 'action', 'status'],
    registers: [this.registry],
  });

  readonly runDuration = new Histogram({
    name: 'autoflow_run_duration_seconds',
    help: 'From the event accepted (the run started in Temporal) to the outcome recorded, by trigger, action and status',
    labelNames: ['trigger', 'action', 'status'],
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });

  readonly ingestRejections = new Counter({
    name: 'autoflow_ingest_rejections_total',
    help: 'Inbound events refused by trigger-ingest, by source (webhook, or <provider>_push: gmail_push, slack_push) and reason (the answer code)',
    labelNames: ['source', 'reason'],
    registers: [this.registry],
  });

  readonly webhookWorkflowLookups = new Counter({
    name: 'autoflow_webhook_workflow_lookups_total',
    help: "trigger-ingest's lookups of a hook's workflow, by result: hit (from memory), miss (read from Postgres), bypass (read from Postgres: the LISTEN that invalidates the cache is not known alive)",
    labelNames: ['result'],
    registers: [this.registry],
  });

  readonly tokenRefreshes = new Counter({
    name: 'autoflow_oauth_token_refreshes_total',
    help: 'OAuth refresh grants sent, by provider and outcome (success, refused, failed)',
    labelNames: ['provider', 'outcome'],
    registers: [this.registry],
  });

  readonly needsReconnect = new Counter({
    name: 'autoflow_oauth_needs_reconnect_total',
    help: 'Credentials that went from valid to needs_reconnect, by provider',
    labelNames: ['provider'],
    registers: [this.registry],
  });

  readonly providerQuotaUnits = new Counter({
    name: 'autoflow_provider_quota_units_total',
    help: "Units of a provider's API quota spent (Gmail's per-method quota units), by provider and method",
    labelNames: ['provider', 'method'],
    registers: [this.registry],
  });

  readonly activityQueueWait = new Histogram({
    name: 'autoflow_activity_queue_wait_seconds',
    help: "How long an activity's attempt waited in its task queue before a worker started it, by task queue",
    labelNames: ['task_queue'],
    buckets: QUEUE_WAIT_BUCKETS,
    registers: [this.registry],
  });

  constructor(options: AutoflowMetricsOptions) {
    this.registry.setDefaultLabels({ app: options.app });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  // The labels are picked one by one: callers pass records with more fields, which prom-client refuses.
  runStarted({ trigger, action }: RunLabels): void {
    this.runsStarted.inc({ trigger, action });
  }

  runFinished({ trigger, action }: RunLabels, status: RunOutcome, durationSeconds: number): void {
    this.runsFinished.inc({ trigger, action, status });
    this.runDuration.observe({ trigger, action, status }, Math.max(0, durationSeconds));
  }

  ingestRejected(source: string, reason: string): void {
    this.ingestRejections.inc({ source, reason });
  }

  webhookWorkflowLookup(result: WebhookWorkflowLookupResult): void {
    this.webhookWorkflowLookups.inc({ result });
  }

  tokenRefreshed(provider: string, outcome: TokenRefreshOutcome): void {
    this.tokenRefreshes.inc({ provider, outcome });
  }

  markedNeedsReconnect(provider: string): void {
    this.needsReconnect.inc({ provider });
  }

  quotaSpent(provider: string, method: string, units: number): void {
    this.providerQuotaUnits.inc({ provider, method }, units);
  }

  activityWaited(taskQueue: string, seconds: number): void {
    this.activityQueueWait.observe({ task_queue: taskQueue }, Math.max(0, seconds));
  }

  /** The Prometheus text exposition of every metric of this process. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The names of every autoflow_* metric, as Prometheus exposes them (histograms add _bucket, _sum, _count). */
export function definedMetricNames(metrics: AutoflowMetrics): string[] {
  return metrics.registry.getMetricsAsArray().map((metric) => metric.name);
}
