import { Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, http, listOf, System, waitFor } from '../src/system.js';

const sink = new Sink();
let system: System;

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
});

/** A webhook → HTTP workflow whose target is `path` at the sink; returns its id and hook URL. */
async function webhookToSink(token: string, path: string): Promise<{ workflowId: number; hookUrl: string }> {
  const { id: workflowId, hookUrl } = await system.createActiveWorkflow(token, {
    name: `drain ${path}`,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { url: `${sink.baseUrl}${path}`, body: '{{trigger.body}}' },
    },
  });
  return { workflowId, hookUrl };
}

// History events that mean an action was cut off or tried again.
const CUT_OFF =
  /ActivityTaskCanceled|ActivityTaskTimedOut|ActivityTaskFailed|WorkflowTaskFailed|WorkflowTaskTimedOut/;

it('drains the worker at SIGTERM: in-flight actions finish once, a replacement takes the rest', async () => {
  const { token } = await system.signUp();
  // 2.5 s: under the 3 s bound of the first local attempt, so the first 10 runs (the tenant's local budget)
  // are in flight as local activities, inside workflow tasks, and the others as regular activities.
  const { workflowId, hookUrl } = await webhookToSink(token, '/slow?ms=2500');
  const total = 20;
  const answers = await Promise.all(
    Array.from({ length: total }, (_, index) =>
      http('POST', hookUrl, { body: { index }, headers: { 'webhook-id': `drain-${index}` } }),
    ),
  );
  expect(answers.every((answer) => answer.status === 202)).toBe(true);

  await waitFor(
    'requests in flight at the sink',
    async () => (sink.forPath('/slow').length >= 15 ? true : undefined),
    30_000,
    10,
  );
  const worker = system.apps.get('worker');
  if (!worker) throw new Error('no worker');
  const startedAtSignal = sink.forPath('/slow').length;
  await worker.stop('SIGTERM');
  expect(await worker.exited).toBe(0);
  const completedByDrain = (await system.executions(token, workflowId)).filter(
    (execution) => field(execution, 'status') === 'completed',
  ).length;
  // The draining worker finished every action in flight; recording a run's completion takes one more
  // workflow task, which the replacement may run: that is why the count is printed, not asserted.
  await system.startApp('worker');
  const executions = await waitFor(
    'every run to complete after the replacement started',
    async () => {
      const all = await system.executions(token, workflowId);
      return all.length === total && all.every((execution) => field(execution, 'status') === 'completed')
        ? all
        : undefined;
    },
    90_000,
    250,
  );
  console.log(
    `drain: ${startedAtSignal} actions in flight at SIGTERM, ${completedByDrain} runs completed by the draining worker, ${total - completedByDrain} by its replacement`,
  );
  // Exactly once: one request per run at the target, none cancelled or retried.
  const requests = sink.forPath('/slow');
  expect(requests).toHaveLength(total);
  expect(sink.distinctKeys('/slow').size).toBe(total);
  let redelivered = 0;
  for (const execution of executions) {
    const history = await system.rawHistory(String(field(execution, 'temporalWorkflowId')));
    expect(history).not.toMatch(CUT_OFF);
    for (const event of listOf(JSON.parse(history), 'events')) {
      const started = field(event, 'activityTaskStartedEventAttributes');
      if (started === undefined || Number(field(started, 'attempt')) === 1) continue;
      // The one second attempt allowed: a task the server handed to the draining worker's last poll,
      // which it never ran (the target saw its key once, above), redelivered after the heartbeat timeout.
      expect(field(started, 'lastFailure', 'timeoutFailureInfo', 'timeoutType')).toBe(
        'TIMEOUT_TYPE_HEARTBEAT',
      );
      redelivered++;
    }
  }
  console.log(`drain: ${redelivered} activity task(s) redelivered after the draining worker's last poll`);
});

it('drains trigger-ingest under load: every 202 has its run, no answer is cut off', async () => {
  const { token } = await system.signUp();
  const { workflowId, hookUrl } = await webhookToSink(token, '/ingest');
  const ingest = system.apps.get('trigger-ingest');
  if (!ingest) throw new Error('no trigger-ingest');

  const answered: { index: number; status: number; body: unknown }[] = [];
  const unanswered: { index: number; error: string }[] = [];
  let next = 0;
  let sending = true;
  // Four clients send webhooks back to back until the app is gone.
  const clients = Array.from({ length: 4 }, async () => {
    while (sending) {
      const index = next++;
      try {
        const answer = await http('POST', hookUrl, {
          body: { index },
          headers: { 'webhook-id': `load-${index}` },
        });
        answered.push({ index, status: answer.status, body: answer.body });
      } catch (error) {
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        unanswered.push({
          index,
          error: String(cause instanceof Error && 'code' in cause ? cause.code : cause),
        });
      }
    }
  });
  await waitFor('load on trigger-ingest', async () => (answered.length >= 40 ? true : undefined), 30_000, 10);
  await ingest.stop('SIGTERM');
  const exitCode = await ingest.exited;
  sending = false;
  await Promise.all(clients);

  const accepted = answered.filter((outcome) => outcome.status === 202);
  const refused = answered.filter((outcome) => outcome.status !== 202);
  console.log(
    `ingest drain: ${accepted.length} accepted, ${refused.length} answered ${[...new Set(refused.map((o) => o.status))].join('/')}, ${unanswered.length} without an answer (${[...new Set(unanswered.map((o) => o.error))].join(', ')})`,
  );
  expect(exitCode).toBe(0);
  expect(accepted.length).toBeGreaterThanOrEqual(40);
  // Every answer is whole: a 202 carries its JSON body, and anything else is a 503 the client may retry.
  for (const outcome of accepted) expect(typeof outcome.body).toBe('object');
  for (const outcome of refused) expect(outcome.status).toBe(503);
  // A request without any answer never reached the app or was never read: it was not accepted, and a
  // client retries it. Connection refused (listener closed) or reset before any byte of an answer.
  for (const outcome of unanswered)
    expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(outcome.error);

  // Every accepted event has its run.
  await waitFor(
    'every accepted event to have its run',
    async () => {
      const executions = await system.executions(token, workflowId);
      return executions.length >= accepted.length &&
        executions.every((e) => field(e, 'status') === 'completed')
        ? executions
        : undefined;
    },
    90_000,
    500,
  );
  const delivered = new Set(sink.forPath('/ingest').map((request) => field(request.body, 'index')));
  for (const outcome of accepted) expect(delivered.has(outcome.index)).toBe(true);
  // A request without an answer was never accepted either: had the app run it, it would have answered.
  const runWithoutAnswer = unanswered.filter((outcome) => delivered.has(outcome.index));
  console.log(`ingest drain: ${runWithoutAnswer.length} unanswered request(s) ran anyway`);
  expect(runWithoutAnswer).toEqual([]);
  await system.startApp('trigger-ingest');
}, 180_000);
