import type { ServerResponse } from 'node:http';
import { authenticate, ProblemError, problemResponses, problems } from '@autoflow/http-kit';
import {
  ExecutionNotRunningError,
  IdempotencyKeyReusedError,
  MAX_BULK_RERUN,
  SnapshotUnavailableError,
} from '@autoflow/runs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiGatewayDeps } from '../deps.js';
import {
  changesSince,
  executionsPage,
  findOwnExecution,
  findOwnWorkflow,
  parseLastEventId,
  type StreamedExecution,
  type StreamPosition,
  streamedExecution,
  toExecutionView,
} from '../executions.js';
import { executionSchema, idempotencyKeyHeader, idParam, pageOf, pageQuery, rerunMode } from '../schemas.js';

const secured = [{ bearer: [] }];

const startedRerun = z
  .object({
    executionId: z.number(),
    temporalWorkflowId: z.string(),
    rerunOf: z.number(),
  })
  .meta({
    examples: [{ executionId: 1002, temporalWorkflowId: 'run:42:rerun:1001:retry-1', rerunOf: 1001 }],
  });

const bulkRerunAnswer = z
  .object({
    batchId: z.number(),
    mode: z.enum(['original', 'current']),
    items: z.array(
      z.object({
        rerunOf: z.number(),
        executionId: z.number().nullable(),
        error: z.enum(['original_snapshot_unavailable', 'action_unavailable']).optional(),
      }),
    ),
  })
  .meta({
    examples: [
      {
        batchId: 7,
        mode: 'original',
        items: [
          { rerunOf: 1001, executionId: 1002 },
          { rerunOf: 990, executionId: null, error: 'original_snapshot_unavailable' },
        ],
      },
    ],
  });

/** The stream's 200: events, not JSON. */
const executionStream = {
  description:
    'An `execution` event per change (`id`: its position, for Last-Event-ID; `data`: the execution as JSON), ' +
    'and a comment line as a heartbeat.',
  content: {
    'text/event-stream': {
      schema: z.string().meta({
        examples: [
          'id: 2025-05-01T12:00:04.000123Z.1001\nevent: execution\ndata: {"id":1001,"status":"completed"}\n\n',
        ],
      }),
    },
  },
};

/** Rows a resuming stream replays at most; a client further behind reloads the list. */
const RESUME_LIMIT = 1_000;

function snapshotUnavailable(error: SnapshotUnavailableError): ProblemError {
  return problems.conflict(
    'original_snapshot_unavailable',
    `${error.message}; re-run it with mode "current" instead`,
  );
}

export const executionRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (app, deps) => {
  const { db, tokens, executions, temporalUi: ui } = deps;

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
      const workflow = await findOwnWorkflow(db, userId, request.params.id);
      return executionsPage(db, workflow.id, request.query, ui);
    },
  );

  app.get(
    '/api/executions/:id',
    {
      schema: {
        tags: ['executions'],
        operationId: 'getExecution',
        summary: 'One execution: its status, trigger data, action result, attempts and timings',
        description:
          'The execution with its attempts, last failure, timings and a link to its run in the Temporal UI.',
        security: secured,
        params: idParam,
        response: { 200: executionSchema, ...problemResponses(404) },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const { execution } = await findOwnExecution(db, userId, request.params.id);
      return toExecutionView(execution, ui);
    },
  );

  app.post(
    '/api/executions/:id/rerun',
    {
      schema: {
        tags: ['executions'],
        operationId: 'rerunExecution',
        summary: 'Re-runs an execution, with its original snapshot or the workflow’s current configuration',
        description:
          'Starts a new execution with the same trigger data, linked to this one by `rerunOf`. The same ' +
          'Idempotency-Key answers the same new execution. 409 `original_snapshot_unavailable` when mode ' +
          "`original` finds no run input (past Temporal's retention, or the execution never ran).",
        security: secured,
        params: idParam,
        headers: z.object({ 'idempotency-key': idempotencyKeyHeader.optional() }),
        body: z.object({ mode: rerunMode }).nullish(),
        response: {
          202: startedRerun,
          ...problemResponses(404, 409, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const { execution, workflow } = await findOwnExecution(db, userId, request.params.id);
      const mode = request.body?.mode ?? 'original';
      try {
        const run = await executions.rerun(workflow, execution, mode, {
          requestId: request.id,
          ...(request.headers['idempotency-key'] ? { eventId: request.headers['idempotency-key'] } : {}),
        });
        if (run.unavailable) throw problems.actionUnavailable(run.unavailable);
        request.log.info(
          { executionId: run.executionId, rerunOf: execution.id, mode, started: run.started },
          're-run accepted',
        );
        return reply.code(202).send({
          executionId: run.executionId,
          temporalWorkflowId: run.temporalWorkflowId,
          rerunOf: execution.id,
        });
      } catch (error) {
        if (error instanceof ProblemError) throw error;
        if (error instanceof SnapshotUnavailableError) throw snapshotUnavailable(error);
        request.log.error({ err: error }, 'could not start the re-run');
        throw problems.unavailable('the re-run could not be started; try again');
      }
    },
  );

  app.post(
    '/api/executions/:id/cancel',
    {
      schema: {
        tags: ['executions'],
        operationId: 'cancelExecution',
        summary: 'Cancels a running execution',
        description:
          'Asks Temporal to cancel the run. The answer is the execution with its `cancellation`; its ' +
          'status turns `cancelled` (with the reason as its error message) once the run has stopped. ' +
          '409 `execution_not_running` when it had already finished.',
        security: secured,
        params: idParam,
        body: z
          .object({ reason: z.string().min(1).max(500).optional() })
          .nullish()
          .meta({ examples: [{ reason: 'sent to the wrong channel' }] }),
        response: {
          202: executionSchema,
          ...problemResponses(404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const { execution } = await findOwnExecution(db, userId, request.params.id);
      try {
        const row = await executions.cancel(execution, request.body?.reason ?? 'cancelled by its owner');
        return reply.code(202).send(toExecutionView(row, ui));
      } catch (error) {
        if (error instanceof ExecutionNotRunningError)
          throw problems.conflict('execution_not_running', `the execution is ${error.status}`);
        request.log.error({ err: error }, 'could not cancel the run');
        throw problems.unavailable('the run could not be cancelled; try again');
      }
    },
  );

  app.post(
    '/api/workflows/:id/executions/rerun-failed',
    {
      schema: {
        tags: ['executions'],
        operationId: 'rerunFailedExecutions',
        summary: 'Re-runs every failed execution of a workflow, once per Idempotency-Key',
        description:
          `Re-runs every failed execution of the workflow that has no running or completed re-run (at most ${MAX_BULK_RERUN}, ` +
          'oldest first). Idempotency-Key is required and kept per user: the same key answers the same ' +
          'batch and starts nothing new; a key used for another workflow or mode answers 409 ' +
          '`idempotency_key_reused`.',
        security: secured,
        params: idParam,
        headers: z.object({ 'idempotency-key': idempotencyKeyHeader }),
        body: z.object({ mode: rerunMode }).nullish(),
        response: {
          202: bulkRerunAnswer,
          ...problemResponses(404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const workflow = await findOwnWorkflow(db, userId, request.params.id);
      try {
        const batch = await executions.rerunFailed(
          workflow,
          request.headers['idempotency-key'],
          request.body?.mode ?? 'original',
          { requestId: request.id },
        );
        return reply.code(202).send(batch);
      } catch (error) {
        if (error instanceof IdempotencyKeyReusedError)
          throw problems.conflict('idempotency_key_reused', error.message);
        request.log.error({ err: error }, 'could not start the re-runs');
        throw problems.unavailable('not every re-run could be started; send the same request again');
      }
    },
  );

  /** Open streams, ended before the server closes (a stream never ends by itself). */
  const openStreams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const stream of openStreams) stream.end();
  });

  app.get(
    '/api/workflows/:id/executions/stream',
    {
      schema: {
        tags: ['executions'],
        operationId: 'streamWorkflowExecutions',
        summary: 'A live stream of a workflow’s executions (Server-Sent Events)',
        description:
          'Server-Sent Events (text/event-stream): an `execution` event (data: the execution, as in the list) ' +
          'at every change of one of the workflow’s executions, from any replica; a comment line as a ' +
          'heartbeat. Authenticated with the bearer header, like every route: use a fetch-based SSE client ' +
          '(EventSource cannot send headers). Last-Event-ID resumes after the event it names.',
        security: secured,
        params: idParam,
        headers: z.object({ 'last-event-id': z.string().max(200).optional() }),
        response: {
          200: executionStream,
          ...problemResponses(404),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const workflow = await findOwnWorkflow(db, userId, request.params.id);
      const resumeFrom = parseLastEventId(request.headers['last-event-id']);

      reply.hijack();
      const stream = reply.raw;
      stream.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies (nginx) must not buffer the stream.
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      stream.write('retry: 2000\n: connected\n\n');
      openStreams.add(stream);

      // What each execution was last sent as, so that a change is sent once whichever way it arrives.
      const sentAt = new Map<number, string>();
      let position: StreamPosition | undefined = resumeFrom;
      const send = (event: StreamedExecution) => {
        if (sentAt.get(event.view.id) === event.position[0]) return;
        sentAt.set(event.view.id, event.position[0]);
        if (!position || event.position[0] > position[0]) position = event.position;
        stream.write(`id: ${event.eventId}\nevent: execution\ndata: ${JSON.stringify(event.view)}\n\n`);
      };
      // Reads run one after another, so that events leave in the order their notifications came.
      let queue: Promise<void> = Promise.resolve();
      const enqueue = (work: () => Promise<void>) => {
        queue = queue.then(work).catch((error: unknown) => {
          request.log.warn({ err: error }, 'execution stream: could not read a change');
        });
      };
      const replay = () =>
        enqueue(async () => {
          if (!position) return;
          for (const event of await changesSince(db, workflow.id, position, RESUME_LIMIT, ui)) send(event);
        });

      const unsubscribe = deps.executionChanges.subscribe(workflow.id, {
        changed: ({ executionId }) =>
          enqueue(async () => {
            const event = await streamedExecution(db, userId, executionId, ui);
            if (event) send(event);
          }),
        resync: replay,
      });
      if (resumeFrom) replay();
      const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), deps.streamHeartbeatMs);
      stream.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        openStreams.delete(stream);
      });
    },
  );
};
