// Derived facts about an execution row that the API shows: its timings and its page in the Temporal UI.

export interface ExecutionTimings {
  /** When the run was accepted: by the API (manual runs, re-runs) or by Temporal (the worker's record). */
  acceptedAt: string;
  /** When a worker first recorded the run's start; null until then (and for rows older than the column). */
  startedAt: string | null;
  finishedAt: string | null;
  /** Accepted → started: time spent waiting for a worker. */
  queuedMs: number | null;
  /** Started → finished: the action, its retries and the bookkeeping. */
  runMs: number | null;
  /** Accepted → finished. */
  totalMs: number | null;
}

interface TimedRow {
  startedAt: Date;
  acceptedAt: Date | null;
  runStartedAt: Date | null;
  completedAt: Date | null;
}

function between(from: Date | null, to: Date | null): number | null {
  return from && to ? Math.max(0, to.getTime() - from.getTime()) : null;
}

export function executionTimings(row: TimedRow): ExecutionTimings {
  // Rows from before accepted_at existed: their creation is the closest known acceptance.
  const accepted = row.acceptedAt ?? row.startedAt;
  return {
    acceptedAt: accepted.toISOString(),
    startedAt: row.runStartedAt?.toISOString() ?? null,
    finishedAt: row.completedAt?.toISOString() ?? null,
    queuedMs: between(accepted, row.runStartedAt),
    runMs: between(row.runStartedAt, row.completedAt),
    totalMs: between(accepted, row.completedAt),
  };
}

/**
 * The run's history page in the Temporal UI (`{base}/namespaces/{ns}/workflows/{workflowId}/{runId}/history`),
 * or null without a UI base URL or before Temporal gave the run its run id.
 */
export function temporalUiRunUrl(
  ui: { baseUrl: string; namespace: string } | undefined,
  run: { temporalWorkflowId: string; temporalRunId: string | null },
): string | null {
  if (!ui || !run.temporalRunId) return null;
  const base = ui.baseUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(run.temporalWorkflowId)}/${encodeURIComponent(run.temporalRunId)}/history`;
}
