import { Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, http, System, waitFor } from '../src/system.js';

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

it('finishes every run once after the worker is killed mid-flight', async () => {
  const { token } = await system.signUp();
  const { id: workflowId, hookUrl } = await system.createActiveWorkflow(token, {
    name: 'slow target',
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { url: `${sink.baseUrl}/slow?ms=400`, body: '{{trigger.body}}' },
    },
  });

  const total = 20;
  const answers = await Promise.all(
    Array.from({ length: total }, (_, index) =>
      http('POST', hookUrl, { body: { index }, headers: { 'webhook-id': `crash-${index}` } }),
    ),
  );
  expect(answers.every((answer) => answer.status === 202)).toBe(true);

  // Kill the worker while requests are in flight at the sink.
  await waitFor(
    'the first requests at the sink',
    async () => (sink.forPath('/slow').length >= 3 ? true : undefined),
    30_000,
    10,
  );
  const worker = system.apps.get('worker');
  await worker?.stop('SIGKILL');
  const atKill = await system.executions(token, workflowId);
  expect(atKill.filter((execution) => field(execution, 'status') === 'completed').length).toBeLessThan(total);

  await system.startApp('worker');
  const executions = await waitFor(
    'every run to complete after the restart',
    async () => {
      const all = await system.executions(token, workflowId);
      return all.length === total && all.every((execution) => field(execution, 'status') === 'completed')
        ? all
        : undefined;
    },
    90_000,
    250,
  );
  expect(executions).toHaveLength(total);
  // Each run reached the target under one key: a deduplicating target performed each exactly once.
  expect(sink.distinctKeys('/slow').size).toBe(total);
  expect(new Set(sink.forPath('/slow').map((request) => field(request.body, 'index')))).toEqual(
    new Set(Array.from({ length: total }, (_, index) => index)),
  );
});
