import { Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Execution, field, System, waitFor } from '../src/system.js';

// Issue 14, item 5: re-run (both modes), cancel, bulk re-run, execution detail, the live stream,
// credentials pagination, and another tenant's ids answering 404 on each.

const TEMPORAL_UI = 'http://temporal-ui.test:8233';
const sink = new Sink();
let system: System;

beforeAll(async () => {
  await sink.start();
  system = new System({
    allowedHosts: [sink.hostPort],
    env: { TEMPORAL_UI_BASE_URL: TEMPORAL_UI, EXECUTION_STREAM_HEARTBEAT_SECONDS: '1' },
  });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
});

/** A manual workflow whose HTTP action posts the run's payload to `path` at the sink. */
async function manualToSink(token: string, path: string): Promise<number> {
  const created = await system.createWorkflow(token, {
    name: `to ${path}`,
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url: `${sink.baseUrl}${path}`, body: { n: '{{trigger.payload.n}}' } },
    },
  });
  return created.id;
}

async function pointTo(token: string, workflowId: number, path: string): Promise<void> {
  const edited = await system.client(token).PATCH('/api/workflows/{id}', {
    params: { path: { id: workflowId } },
    body: {
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { method: 'POST', url: `${sink.baseUrl}${path}`, body: { n: '{{trigger.payload.n}}' } },
      },
    },
  });
  expect(edited.response.status, JSON.stringify(edited.error)).toBe(200);
}

async function run(token: string, workflowId: number, n: unknown): Promise<number> {
  return (await system.runWorkflow(token, workflowId, { n })).executionId;
}

function finished(token: string, id: number, status = 'completed'): Promise<Execution> {
  return waitFor(`execution ${id} ${status}`, async () => {
    const body = await system.execution(token, id);
    if (body.status !== 'running' && body.status !== status)
      throw new Error(`execution ${id} is ${body.status}: ${JSON.stringify(body)}`);
    return body.status === status ? body : undefined;
  });
}

it('re-runs an execution with its original snapshot or the current configuration, linked to it', async () => {
  const { token } = await system.signUp();
  const workflowId = await manualToSink(token, '/rerun-v1');
  const originalId = await run(token, workflowId, 'first');
  const original = await finished(token, originalId);
  // The detail: one attempt, the three timings, and the run's page in the Temporal UI.
  expect(field(original, 'attempts')).toBe(1);
  expect(field(original, 'lastFailure')).toBeNull();
  expect(field(original, 'rerunOf')).toBeNull();
  for (const timing of ['acceptedAt', 'startedAt', 'finishedAt'])
    expect(typeof field(original, 'timings', timing), timing).toBe('string');
  expect(typeof field(original, 'timings', 'totalMs')).toBe('number');
  const temporalWorkflowId = String(field(original, 'temporalWorkflowId'));
  expect(field(original, 'temporalUiUrl')).toMatch(
    new RegExp(
      `^${TEMPORAL_UI}/namespaces/[^/]+/workflows/${encodeURIComponent(temporalWorkflowId)}/${String(field(original, 'temporalRunId'))}/history$`,
    ),
  );

  await pointTo(token, workflowId, '/rerun-v2');
  const client = system.client(token);
  const rerun = (mode: 'original' | 'current', idempotencyKey?: string) =>
    client.POST('/api/executions/{id}/rerun', {
      params: {
        path: { id: originalId },
        ...(idempotencyKey ? { header: { 'idempotency-key': idempotencyKey } } : {}),
      },
      body: { mode },
    });
  const asItRan = await rerun('original');
  expect(asItRan.response.status, JSON.stringify(asItRan.error)).toBe(202);
  expect(asItRan.data?.rerunOf).toBe(originalId);
  const asNow = await rerun('current');
  expect(asNow.response.status, JSON.stringify(asNow.error)).toBe(202);

  const rerunOriginal = await finished(token, Number(asItRan.data?.executionId));
  const rerunCurrent = await finished(token, Number(asNow.data?.executionId));
  expect(field(rerunOriginal, 'rerunOf')).toBe(originalId);
  expect(field(rerunCurrent, 'rerunOf')).toBe(originalId);
  expect(field(rerunOriginal, 'triggerData')).toEqual(field(original, 'triggerData'));
  expect(field(rerunCurrent, 'triggerData')).toEqual(field(original, 'triggerData'));
  // The original snapshot still posts to the old URL; the current configuration to the new one.
  expect(sink.forPath('/rerun-v1').map((request) => request.body)).toEqual([{ n: 'first' }, { n: 'first' }]);
  expect(sink.forPath('/rerun-v2').map((request) => request.body)).toEqual([{ n: 'first' }]);

  // The same Idempotency-Key answers the same re-run.
  const first = await rerun('current', 'rerun-once');
  const again = await rerun('current', 'rerun-once');
  expect(first.response.status).toBe(202);
  expect(again.data?.executionId).toBe(first.data?.executionId);
});

it('cancels a running execution: recorded cancelled with the reason; a finished one answers 409', async () => {
  const { token } = await system.signUp();
  const workflowId = await manualToSink(token, '/slow?ms=20000');
  const id = await run(token, workflowId, 'slow');
  await waitFor('the slow request at the sink', async () =>
    sink.requests.some((request) => request.path === '/slow' && field(request.body, 'n') === 'slow')
      ? true
      : undefined,
  );
  const client = system.client(token);
  const cancelExecution = (executionId: number, reason?: string) =>
    client.POST('/api/executions/{id}/cancel', {
      params: { path: { id: executionId } },
      body: reason === undefined ? {} : { reason },
    });
  const cancel = await cancelExecution(id, 'the target is too slow');
  expect(cancel.response.status, JSON.stringify(cancel.error)).toBe(202);
  expect(field(cancel.data, 'cancellation', 'reason')).toBe('the target is too slow');
  const cancelled = await finished(token, id, 'cancelled');
  expect(field(cancelled, 'errorMessage')).toBe('the target is too slow');
  expect(typeof field(cancelled, 'timings', 'finishedAt')).toBe('string');

  const again = await cancelExecution(id);
  expect(again.response.status).toBe(409);
  expect(again.error?.code).toBe('execution_not_running');
  const done = await finished(token, await run(token, await manualToSink(token, '/done'), 1));
  const late = await cancelExecution(done.id);
  expect(late.response.status).toBe(409);
  expect(late.error?.code).toBe('execution_not_running');
});

it('re-runs every failed execution in one call, once per Idempotency-Key', async () => {
  const { token } = await system.signUp();
  const workflowId = await manualToSink(token, '/bad');
  const failedIds = [await run(token, workflowId, 1), await run(token, workflowId, 2)];
  for (const id of failedIds) {
    const failed = await finished(token, id, 'failed');
    expect(field(failed, 'attempts')).toBe(1);
    expect(String(field(failed, 'lastFailure', 'message'))).toMatch(/400/);
  }
  await pointTo(token, workflowId, '/bulk-fixed');

  const client = system.client(token);
  const bulk = (key: string, mode: 'original' | 'current' = 'current') =>
    client.POST('/api/workflows/{id}/executions/rerun-failed', {
      params: { path: { id: workflowId }, header: { 'idempotency-key': key } },
      body: { mode },
    });
  const first = await bulk('bulk-1');
  expect(first.response.status, JSON.stringify(first.error)).toBe(202);
  const started = first.data?.items ?? [];
  expect(started.map((item) => item.rerunOf)).toEqual(failedIds);
  const again = await bulk('bulk-1');
  expect(again.response.status).toBe(202);
  expect(again.data).toEqual(first.data);
  for (const item of started) {
    expect(item.error, JSON.stringify(item)).toBeUndefined();
    await finished(token, Number(item.executionId));
  }
  // Two failed and two re-runs: the repeated call started no second batch.
  expect(await system.executions(token, workflowId)).toHaveLength(4);
  expect(sink.forPath('/bulk-fixed')).toHaveLength(2);

  // Nothing left to re-run under a new key; the old key for another request is refused.
  const fresh = await bulk('bulk-2');
  expect(fresh.data?.items).toEqual([]);
  const reused = await bulk('bulk-1', 'original');
  expect(reused.response.status).toBe(409);
  expect(reused.error?.code).toBe('idempotency_key_reused');
  const keyless = await client.POST('/api/workflows/{id}/executions/rerun-failed', {
    // @ts-expect-error the Idempotency-Key header is required: the compiler refuses its absence, the API too
    params: { path: { id: workflowId } },
    body: { mode: 'current' },
  });
  expect(keyless.response.status).toBe(400);
});

interface StreamEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads an SSE answer event by event (fetch-based, with the bearer header, as the README says). */
async function* readEvents(response: Response): AsyncGenerator<StreamEvent> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: StreamEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) event.comment = line.slice(1).trim();
        const match = /^(id|event|data): ?(.*)$/.exec(line);
        if (match?.[1] === 'id') event.id = match[2];
        if (match?.[1] === 'event') event.event = match[2];
        if (match?.[1] === 'data') event.data = match[2];
      }
      yield event;
    }
  }
}

/** The stream through the typed client; `parseAs: 'stream'` leaves the answer's body unread. */
function openStream(token: string, workflowId: number, lastEventId?: string) {
  const controller = new AbortController();
  const response = system
    .client(token)
    .GET('/api/workflows/{id}/executions/stream', {
      params: {
        path: { id: workflowId },
        ...(lastEventId ? { header: { 'last-event-id': lastEventId } } : {}),
      },
      headers: { accept: 'text/event-stream' },
      parseAs: 'stream',
      signal: controller.signal,
    })
    .then((answer) => answer.response);
  return { response, close: () => controller.abort() };
}

it('streams a run going running → completed live, with heartbeats, and resumes from Last-Event-ID', async () => {
  const { token } = await system.signUp();
  const workflowId = await manualToSink(token, '/streamed');
  const stream = openStream(token, workflowId);
  const response = await stream.response;
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);

  const seen: { id: string; status: unknown }[] = [];
  let heartbeats = 0;
  let executionId: number | undefined;
  for await (const event of readEvents(response)) {
    if (event.comment === 'connected') executionId = await run(token, workflowId, 'live');
    if (event.comment === 'heartbeat') heartbeats++;
    if (event.event === 'execution' && event.data && event.id) {
      const view: unknown = JSON.parse(event.data);
      expect(field(view, 'id')).toBe(executionId);
      seen.push({ id: event.id, status: field(view, 'status') });
    }
    if (seen.at(-1)?.status === 'completed' && heartbeats > 0) break;
  }
  stream.close();
  const statuses = seen.map((event) => event.status);
  expect(statuses[0]).toBe('running');
  expect(statuses.at(-1)).toBe('completed');
  expect(statuses.indexOf('completed')).toBe(statuses.length - 1);

  // From the first event on: the rest again, ending with the completion.
  const first = seen[0]?.id ?? '';
  const resumed = openStream(token, workflowId, first);
  const replayed: unknown[] = [];
  for await (const event of readEvents(await resumed.response)) {
    if (event.event !== 'execution' || !event.data) continue;
    replayed.push(field(JSON.parse(event.data), 'status'));
    if (replayed.at(-1) === 'completed') break;
  }
  resumed.close();
  expect(replayed.at(-1)).toBe('completed');
  expect(replayed.length).toBeLessThanOrEqual(seen.length - 1);
});

it('pages through credentials like every other list', async () => {
  const { token, userId } = await system.signUp();
  const ids: number[] = [];
  for (let index = 0; index < 7; index++)
    ids.push(await system.insertConnectedCredential(userId, 'slack', `xoxb-page-${index}`));
  const listed: number[] = [];
  const client = system.client(token);
  let cursor: string | undefined;
  do {
    const page = await client.GET('/api/credentials', {
      params: { query: { limit: 3, ...(cursor ? { cursor } : {}) } },
    });
    expect(page.response.status, JSON.stringify(page.error)).toBe(200);
    const items = page.data?.items ?? [];
    expect(items.length).toBeLessThanOrEqual(3);
    listed.push(...items.map((item) => item.id));
    cursor = page.data?.nextCursor ?? undefined;
  } while (cursor);
  expect(listed).toEqual(ids);
  const bad = await client.GET('/api/credentials', { params: { query: { cursor: 'not-a-cursor' } } });
  expect(bad.response.status).toBe(400);
});

it("answers 404 for another tenant's executions, workflows and credentials everywhere", async () => {
  const owner = await system.signUp();
  const other = await system.signUp();
  const workflowId = await manualToSink(owner.token, '/mine');
  const executionId = await run(owner.token, workflowId, 'mine');
  await finished(owner.token, executionId);
  const credentialId = await system.insertConnectedCredential(owner.userId, 'slack', 'xoxb-mine');

  const client = system.client(other.token);
  const execution = { params: { path: { id: executionId } } };
  const workflow = { params: { path: { id: workflowId } } };
  const attempts: [string, Promise<{ error?: unknown; response: Response }>][] = [
    ['GET /api/executions/{id}', client.GET('/api/executions/{id}', execution)],
    [
      'POST /api/executions/{id}/rerun',
      client.POST('/api/executions/{id}/rerun', { ...execution, body: {} }),
    ],
    [
      'POST /api/executions/{id}/cancel',
      client.POST('/api/executions/{id}/cancel', { ...execution, body: {} }),
    ],
    ['GET /api/workflows/{id}/executions', client.GET('/api/workflows/{id}/executions', workflow)],
    [
      'POST /api/workflows/{id}/executions/rerun-failed',
      client.POST('/api/workflows/{id}/executions/rerun-failed', {
        params: { path: { id: workflowId }, header: { 'idempotency-key': 'not-yours' } },
        body: {},
      }),
    ],
    [
      'GET /api/workflows/{id}/executions/stream',
      client.GET('/api/workflows/{id}/executions/stream', { ...workflow, parseAs: 'stream' }),
    ],
    [
      'POST /api/credentials/{id}/test',
      client.POST('/api/credentials/{id}/test', { params: { path: { id: credentialId } } }),
    ],
  ];
  for (const [route, attempt] of attempts) {
    const { error, response } = await attempt;
    expect(response.status, route).toBe(404);
    expect(field(error, 'code'), route).toBe('not_found');
  }
  // Nothing was started or cancelled for the owner.
  expect(await system.executions(owner.token, workflowId)).toHaveLength(1);
  expect((await system.execution(owner.token, executionId)).cancellation).toBeNull();
});
