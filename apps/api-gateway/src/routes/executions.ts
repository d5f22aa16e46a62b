import { type WorkflowExecution, workflowExecutions, workflows } from '@autoflow/db';
import { authenticate, problemResponses, problems } from '@autoflow/http-kit';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor, microsecondTimestamp, rowId } from '../cursor.js';
import type { ApiGatewayDeps } from '../deps.js';
import { executionSchema, idParam, pageOf, pageQuery } from '../schemas.js';

const secured = [{ bearer: [] }];

/** Executions are listed newest first by (started_at, id): unique, so no row is skipped or repeated. */
const executionCursor = z.tuple([microsecondTimestamp, rowId]);

/** started_at as text at full precision, for the cursor of the last row of a page. */
const startedAtText = sql<string>`to_char(${workflowExecutions.startedAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function toExecutionView(row: WorkflowExecution): z.infer<typeof executionSchema> {
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
  };
}

export const executionRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (app, { db, tokens }) => {
  app.get(
    '/api/workflows/:id/executions',
    {
      schema: {
        tags: ['executions'],
        operationId: 'listWorkflowExecutions',
        summary: 'A workflow’s executions, newest first, a page at a time',
        security: secured,
        params: idParam,
        querystring: pageQuery,
        response: { 200: pageOf(executionSchema), ...problemResponses(404) },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const [workflow] = await db
        .select({ id: workflows.id })
        .from(workflows)
        .where(and(eq(workflows.id, request.params.id), eq(workflows.userId, userId)));
      if (!workflow) throw problems.notFound('workflow');

      const { limit, cursor } = request.query;
      const after = decodeCursor(cursor, executionCursor);
      const afterCursor = after
        ? sql`(${workflowExecutions.startedAt}, ${workflowExecutions.id}) < (${after[0]}::timestamptz, ${after[1]})`
        : undefined;
      const rows = await db
        .select({ execution: workflowExecutions, startedAtText })
        .from(workflowExecutions)
        .where(and(eq(workflowExecutions.workflowId, workflow.id), afterCursor))
        .orderBy(desc(workflowExecutions.startedAt), desc(workflowExecutions.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => toExecutionView(row.execution)),
        nextCursor:
          rows.length > limit && last ? encodeCursor([last.startedAtText, last.execution.id]) : null,
      };
    },
  );

  app.get(
    '/api/executions/:id',
    {
      schema: {
        tags: ['executions'],
        operationId: 'getExecution',
        summary: 'One execution: its status, trigger data and action result',
        security: secured,
        params: idParam,
        response: { 200: executionSchema, ...problemResponses(404) },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const [row] = await db
        .select()
        .from(workflowExecutions)
        .where(and(eq(workflowExecutions.id, request.params.id), eq(workflowExecutions.userId, userId)));
      if (!row) throw problems.notFound('execution');
      return toExecutionView(row);
    },
  );
};
