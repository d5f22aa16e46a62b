import { Sink } from '@autoflow/fakes';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, System, waitFor } from '../src/system.js';

const sink = new Sink();
let system: System;
let connection: Connection;
let temporal: Client;

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
  connection = await Connection.connect({ address: system.launched.env.TEMPORAL_ADDRESS });
  temporal = new Client({
    connection,
    namespace: system.launched.namespace,
    dataConverter: system.dataConverter(),
  });
});

afterAll(async () => {
  await connection?.close();
  await system?.stop();
  await sink.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('runs a 2-second schedule on time, pauses it, resumes it, follows edits and goes with the workflow', async () => {
  const { token } = await system.signUp();
  const client = system.client(token);
  const { id: workflowId } = await system.createWorkflow(token, {
    name: 'every two seconds',
    trigger: { serviceProvider: 'schedule', triggerId: 'cron', config: { every: '2s' } },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { url: `${sink.baseUrl}/scheduled`, body: { at: '{{trigger.scheduledTime}}' } },
    },
  });
  const byId = { params: { path: { id: workflowId } } };
  const handle = temporal.schedule.getHandle(`schedule:${workflowId}`);
  // Inactive workflows have no schedule yet.
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

  await system.activate(token, workflowId);
  const completed = async () =>
    (await system.executions(token, workflowId)).filter(
      (execution) => field(execution, 'status') === 'completed',
    );
  const firstRuns = await waitFor(
    'three scheduled runs',
    async () => {
      const done = await completed();
      return done.length >= 3 ? done : undefined;
    },
    20_000,
    200,
  );
  const times = firstRuns
    .map((execution) => Date.parse(String(field(execution, 'triggerData', 'scheduledTime'))))
    .sort((a, b) => a - b);
  const gaps = times.slice(1).map((time, index) => time - (times[index] ?? 0));
  expect(gaps.slice(0, 2)).toEqual([2_000, 2_000]);
  for (const execution of firstRuns) {
    expect(String(field(execution, 'temporalWorkflowId'))).toMatch(
      new RegExp(`^run:${workflowId}:schedule-`),
    );
    // On time: started within a second and a half of its fire time.
    const lateness =
      Date.parse(String(field(execution, 'startedAt'))) -
      Date.parse(String(field(execution, 'triggerData', 'scheduledTime')));
    expect(lateness).toBeLessThan(1_500);
  }
  expect(sink.forPath('/scheduled').map((request) => field(request.body, 'at'))).toEqual(
    expect.arrayContaining(firstRuns.map((execution) => field(execution, 'triggerData', 'scheduledTime'))),
  );

  // Deactivated: nothing for three intervals.
  expect((await client.POST('/api/workflows/{id}/deactivate', byId)).response.status).toBe(200);
  expect((await handle.describe()).state.paused).toBe(true);
  await sleep(1_000);
  const pausedAt = (await system.executions(token, workflowId)).length;
  await sleep(6_500);
  expect((await system.executions(token, workflowId)).length).toBe(pausedAt);

  // Reactivated: it resumes.
  await system.activate(token, workflowId);
  await waitFor(
    'a run after reactivation',
    async () => ((await completed()).length > pausedAt ? true : undefined),
    10_000,
    200,
  );

  // Edited: the schedule follows the new cron.
  const edited = await client.PATCH('/api/workflows/{id}', {
    ...byId,
    body: {
      trigger: {
        serviceProvider: 'schedule',
        triggerId: 'cron',
        config: { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' },
      },
    },
  });
  expect(edited.response.status).toBe(200);
  const spec = (await handle.describe()).spec;
  expect(spec.intervals ?? []).toHaveLength(0);
  expect(spec.timezone).toBe('Europe/Paris');
  expect(spec.calendars?.[0]?.hour).toEqual([{ start: 9, end: 9, step: 1 }]);

  // Deleted with the workflow.
  expect((await client.DELETE('/api/workflows/{id}', byId)).response.status).toBe(204);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});
