import { type WorkflowExecution, workflowExecutions, workflows } from '@autoflow/db';
import { authenticate, problems } from '@autoflow/http-kit';
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { ApiGatewayDeps } from '../deps.js';
import { executionSchema, idParam, pageOf, pageQuery, problemSchema } from '../schemas.js';

const secured = [{ bearer: [] }];

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
        security: secured,
        params: idParam,
        querystring: pageQuery,
        response: { 200: pageOf(executionSchema), 404: problemSchema },
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
      const after = decodeCursor(cursor);
      const [afterStartedAt, afterId] = after ?? [];
      if (cursor && (typeof afterStartedAt !== 'string' || typeof afterId !== 'number')) {
        throw problems.validationFailed([{ path: ['cursor'], message: 'invalid cursor' }]);
      }
      // Newest first; (started_at, id) is unique, so the keyset never skips or repeats a row.
      const afterCursor =
        typeof afterStartedAt === 'string' && typeof afterId === 'number'
          ? or(
              lt(workflowExecutions.startedAt, sql`${afterStartedAt}::timestamptz`),
              and(
                eq(workflowExecutions.startedAt, sql`${afterStartedAt}::timestamptz`),
                lt(workflowExecutions.id, afterId),
              ),
            )
          : undefined;
      const rows = await db
        .select()
        .from(workflowExecutions)
        .where(and(eq(workflowExecutions.workflowId, workflow.id), afterCursor))
        .orderBy(desc(workflowExecutions.startedAt), desc(workflowExecutions.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(toExecutionView),
        nextCursor:
          rows.length > limit && last ? encodeCursor([last.startedAt.toISOString(), last.id]) : null,
      };
    },
  );

  app.get(
    '/api/executions/:id',
    {
      schema: {
        tags: ['executions'],
        security: secured,
        params: idParam,
        response: { 200: executionSchema, 404: problemSchema },
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
