import {
  type Database,
  type Workflow,
  type WorkflowExecution,
  workflowExecutions,
  workflows,
} from '@autoflow/db';
import { problems } from '@autoflow/http-kit';
import { executionTimings, temporalUiRunUrl } from '@autoflow/runs';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { decodeCursor, encodeCursor, microsecondTimestamp, rowId } from './cursor.js';
import type { executionSchema } from './schemas.js';

// The SQL and the view of executions, for the execution routes (lists, detail, the live stream).

export type ExecutionView = z.infer<typeof executionSchema>;

/** Where the Temporal UI shows a run (TEMPORAL_UI_BASE_URL and the namespace); none: no links. */
export type TemporalUi = { baseUrl: string; namespace: string } | undefined;

export function toExecutionView(row: WorkflowExecution, ui: TemporalUi): ExecutionView {
  return {
    id: row.id,
    workflowId: row.workflowId,
    status: row.status,
    triggerData: row.triggerData,
    actionResult: row.actionResult,
    errorMessage: row.errorMessage,
    startedAt: row.startedAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
    temporalWorkflowId: row.temporalWorkflowId,
    temporalRunId: row.temporalRunId,
    rerunOf: row.rerunOf,
    attempts: row.attempts,
    lastFailure:
      row.lastFailure !== null && row.lastFailureAt
        ? { message: row.lastFailure, at: row.lastFailureAt.toISOString() }
        : null,
    cancellation: row.cancelRequestedAt
      ? { requestedAt: row.cancelRequestedAt.toISOString(), reason: row.cancelReason ?? '' }
      : null,
    timings: executionTimings(row),
    temporalUiUrl: temporalUiRunUrl(ui, row),
  };
}

/** The caller's workflow; another user's answers 404 like a missing one. */
export async function findOwnWorkflow(db: Database, userId: number, id: number): Promise<Workflow> {
  const [row] = await db
    .select()
    .from(workflows)
    .where(and(eq(workflows.id, id), eq(workflows.userId, userId)));
  if (!row) throw problems.notFound('workflow');
  return row;
}

/** The caller's execution with its workflow; another user's answers 404 like a missing one. */
export async function findOwnExecution(
  db: Database,
  userId: number,
  id: number,
): Promise<{ execution: WorkflowExecution; workflow: Workflow }> {
  const [row] = await db
    .select({ execution: workflowExecutions, workflow: workflows })
    .from(workflowExecutions)
    .innerJoin(workflows, eq(workflows.id, workflowExecutions.workflowId))
    .where(and(eq(workflowExecutions.id, id), eq(workflowExecutions.userId, userId)));
  if (!row) throw problems.notFound('execution');
  return row;
}

/** A timestamp column as text at full precision (microseconds, UTC), for cursors. */
function microsecondText(column: typeof workflowExecutions.startedAt | typeof workflowExecutions.updatedAt) {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Executions are listed newest first by (started_at, id): unique, so no row is skipped or repeated. */
const executionCursor = z.tuple([microsecondTimestamp, rowId]);

export async function executionsPage(
  db: Database,
  workflowId: number,
  page: { limit: number; cursor?: string | undefined },
  ui: TemporalUi,
) {
  const after = decodeCursor(page.cursor, executionCursor);
  const afterCursor = after
    ? sql`(${workflowExecutions.startedAt}, ${workflowExecutions.id}) < (${after[0]}::timestamptz, ${after[1]})`
    : undefined;
  const rows = await db
    .select({ execution: workflowExecutions, startedAtText: microsecondText(workflowExecutions.startedAt) })
    .from(workflowExecutions)
    .where(and(eq(workflowExecutions.workflowId, workflowId), afterCursor))
    .orderBy(desc(workflowExecutions.startedAt), desc(workflowExecutions.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map((row) => toExecutionView(row.execution, ui)),
    nextCursor:
      rows.length > page.limit && last ? encodeCursor([last.startedAtText, last.execution.id]) : null,
  };
}

// --- The live stream ---------------------------------------------------------------------------------

/** A stream event's id: the row's (updated_at, id), from which a reconnecting stream resumes. */
const streamEventId = z.tuple([microsecondTimestamp, rowId]);
export type StreamPosition = z.infer<typeof streamEventId>;

/** A Last-Event-ID this API gave; anything else starts the stream afresh (no error: browsers resend it). */
export function parseLastEventId(text: string | undefined): StreamPosition | undefined {
  try {
    return decodeCursor(text, streamEventId);
  } catch {
    return undefined;
  }
}

export interface StreamedExecution {
  eventId: string;
  position: StreamPosition;
  view: ExecutionView;
}

function streamed(row: { execution: WorkflowExecution; updatedAtText: string }, ui: TemporalUi) {
  const position: StreamPosition = [row.updatedAtText, row.execution.id];
  return { eventId: encodeCursor(position), position, view: toExecutionView(row.execution, ui) };
}

/** Changes of a workflow's executions after a stream position, oldest first (at most `limit`). */
export async function changesSince(
  db: Database,
  workflowId: number,
  after: StreamPosition,
  limit: number,
  ui: TemporalUi,
): Promise<StreamedExecution[]> {
  const rows = await db
    .select({ execution: workflowExecutions, updatedAtText: microsecondText(workflowExecutions.updatedAt) })
    .from(workflowExecutions)
    .where(
      and(
        eq(workflowExecutions.workflowId, workflowId),
        sql`(${workflowExecutions.updatedAt}, ${workflowExecutions.id}) > (${after[0]}::timestamptz, ${after[1]})`,
      ),
    )
    .orderBy(asc(workflowExecutions.updatedAt), asc(workflowExecutions.id))
    .limit(limit);
  return rows.map((row) => streamed(row, ui));
}

/** One execution as the stream sends it, if it is still the caller's. */
export async function streamedExecution(
  db: Database,
  userId: number,
  id: number,
  ui: TemporalUi,
): Promise<StreamedExecution | undefined> {
  const [row] = await db
    .select({ execution: workflowExecutions, updatedAtText: microsecondText(workflowExecutions.updatedAt) })
    .from(workflowExecutions)
    .where(and(eq(workflowExecutions.id, id), eq(workflowExecutions.userId, userId)));
  return row && streamed(row, ui);
}
