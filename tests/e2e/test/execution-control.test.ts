import { Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, listOf, System, waitFor } from '../src/system.js';

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
  const created = await system.api('POST', '/api/workflows', {
    token,
    body: {
      name: `to ${path}`,
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { method: 'POST', url: `${sink.baseUrl}${path}`, body: { n: '{{trigger.payload.n}}' } },
      },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return Number(field(created.body, 'id'));
}

async function pointTo(token: string, workflowId: number, path: string): Promise<void> {
  const edited = await system.api('PATCH', `/api/workflows/${workflowId}`, {
    token,
    body: {
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { method: 'POST', url: `${sink.baseUrl}${path}`, body: { n: '{{trigger.payload.n}}' } },
      },
    },
  });
  expect(edited.status, JSON.stringify(edited.body)).toBe(200);
}

async function run(token: string, workflowId: number, n: unknown): Promise<number> {
  const started = await system.api('POST', `/api/workflows/${workflowId}/run`, {
    token,
    body: { payload: { n } },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return Number(field(started.body, 'executionId'));
}

async function execution(token: string, id: number): Promise<unknown> {
  const answer = await system.api('GET', `/api/executions/${id}`, { token });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

function finished(token: string, id: number, status = 'completed'): Promise<unknown> {
  return waitFor(`execution ${id} ${status}`, async () => {
    const body = await execution(token, id);
    const now = field(body, 'status');
    if (now !== 'running' && now !== status)
      throw new Error(`execution ${id} is ${String(now)}: ${JSON.stringify(body)}`);
    return now === status ? body : undefined;
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
  const asItRan = await system.api('POST', `/api/executions/${originalId}/rerun`, {
    token,
    body: { mode: 'original' },
  });
  expect(asItRan.status, JSON.stringify(asItRan.body)).toBe(202);
  expect(field(asItRan.body, 'rerunOf')).toBe(originalId);
  const asNow = await system.api('POST', `/api/executions/${originalId}/rerun`, {
    token,
    body: { mode: 'current' },
  });
  expect(asNow.status, JSON.stringify(asNow.body)).toBe(202);

  const rerunOriginal = await finished(token, Number(field(asItRan.body, 'executionId')));
  const rerunCurrent = await finished(token, Number(field(asNow.body, 'executionId')));
  expect(field(rerunOriginal, 'rerunOf')).toBe(originalId);
  expect(field(rerunCurrent, 'rerunOf')).toBe(originalId);
  expect(field(rerunOriginal, 'triggerData')).toEqual(field(original, 'triggerData'));
  expect(field(rerunCurrent, 'triggerData')).toEqual(field(original, 'triggerData'));
  // The original snapshot still posts to the old URL; the current configuration to the new one.
  expect(sink.forPath('/rerun-v1').map((request) => request.body)).toEqual([{ n: 'first' }, { n: 'first' }]);
  expect(sink.forPath('/rerun-v2').map((request) => request.body)).toEqual([{ n: 'first' }]);

  // The same Idempotency-Key answers the same re-run.
  const keyed = () =>
    system.api('POST', `/api/executions/${originalId}/rerun`, {
      token,
      body: { mode: 'current' },
      headers: { 'idempotency-key': 'rerun-once' },
    });
  const first = await keyed();
  const again = await keyed();
  expect(first.status).toBe(202);
  expect(field(again.body, 'executionId')).toBe(field(first.body, 'executionId'));
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
  const cancel = await system.api('POST', `/api/executions/${id}/cancel`, {
    token,
    body: { reason: 'the target is too slow' },
  });
  expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
  expect(field(cancel.body, 'cancellation', 'reason')).toBe('the target is too slow');
  const cancelled = await finished(token, id, 'cancelled');
  expect(field(cancelled, 'errorMessage')).toBe('the target is too slow');
  expect(typeof field(cancelled, 'timings', 'finishedAt')).toBe('string');

  const again = await system.api('POST', `/api/executions/${id}/cancel`, { token });
  expect(again.status).toBe(409);
  expect(field(again.body, 'code')).toBe('execution_not_running');
  const done = await finished(token, await run(token, await manualToSink(token, '/done'), 1));
  const late = await system.api('POST', `/api/executions/${Number(field(done, 'id'))}/cancel`, { token });
  expect(late.status).toBe(409);
  expect(field(late.body, 'code')).toBe('execution_not_running');
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

  const bulk = (key: string, mode = 'current', id = workflowId) =>
    system.api('POST', `/api/workflows/${id}/executions/rerun-failed`, {
      token,
      body: { mode },
      headers: { 'idempotency-key': key },
    });
  const first = await bulk('bulk-1');
  expect(first.status, JSON.stringify(first.body)).toBe(202);
  expect(listOf(first.body).map((item) => field(item, 'rerunOf'))).toEqual(failedIds);
  const again = await bulk('bulk-1');
  expect(again.status).toBe(202);
  expect(again.body).toEqual(first.body);
  for (const item of listOf(first.body)) await finished(token, Number(field(item, 'executionId')));
  // Two failed and two re-runs: the repeated call started no second batch.
  expect(await system.executions(token, workflowId)).toHaveLength(4);
  expect(sink.forPath('/bulk-fixed')).toHaveLength(2);

  // Nothing left to re-run under a new key; the old key for another request is refused.
  const fresh = await bulk('bulk-2');
  expect(listOf(fresh.body)).toEqual([]);
  const reused = await bulk('bulk-1', 'original');
  expect(reused.status).toBe(409);
  expect(field(reused.body, 'code')).toBe('idempotency_key_reused');
  const keyless = await system.api('POST', `/api/workflows/${workflowId}/executions/rerun-failed`, {
    token,
  });
  expect(keyless.status).toBe(400);
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

function openStream(token: string, workflowId: number, lastEventId?: string) {
  const controller = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  const response = fetch(system.url('api-gateway', `/api/workflows/${workflowId}/executions/stream`), {
    headers,
    signal: controller.signal,
  });
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
  let cursor: unknown = null;
  do {
    const query = `?limit=3${cursor ? `&cursor=${String(cursor)}` : ''}`;
    const page = await system.api('GET', `/api/credentials${query}`, { token });
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    expect(listOf(page.body).length).toBeLessThanOrEqual(3);
    listed.push(...listOf(page.body).map((item) => Number(field(item, 'id'))));
    cursor = field(page.body, 'nextCursor');
  } while (cursor);
  expect(listed).toEqual(ids);
  const bad = await system.api('GET', '/api/credentials?cursor=not-a-cursor', { token });
  expect(bad.status).toBe(400);
});

it("answers 404 for another tenant's executions, workflows and credentials everywhere", async () => {
  const owner = await system.signUp();
  const other = await system.signUp();
  const workflowId = await manualToSink(owner.token, '/mine');
  const executionId = await run(owner.token, workflowId, 'mine');
  await finished(owner.token, executionId);
  const credentialId = await system.insertConnectedCredential(owner.userId, 'slack', 'xoxb-mine');

  const attempts: [string, string, Record<string, string>?][] = [
    ['GET', `/api/executions/${executionId}`],
    ['POST', `/api/executions/${executionId}/rerun`],
    ['POST', `/api/executions/${executionId}/cancel`],
    ['GET', `/api/workflows/${workflowId}/executions`],
    ['POST', `/api/workflows/${workflowId}/executions/rerun-failed`, { 'idempotency-key': 'not-yours' }],
    ['GET', `/api/workflows/${workflowId}/executions/stream`],
    ['POST', `/api/credentials/${credentialId}/test`],
  ];
  for (const [method, path, headers] of attempts) {
    const answer = await system.api(method, path, { token: other.token, headers: headers ?? {} });
    expect(answer.status, `${method} ${path}`).toBe(404);
    expect(field(answer.body, 'code'), `${method} ${path}`).toBe('not_found');
  }
  // Nothing was started or cancelled for the owner.
  expect(await system.executions(owner.token, workflowId)).toHaveLength(1);
  expect(field(await execution(owner.token, executionId), 'cancellation')).toBeNull();
});
