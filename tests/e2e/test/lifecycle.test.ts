import { startLocalServer } from '@autoflow/fakes';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { System, waitFor } from '../src/system.js';

let system: System;
let connection: Connection;
let temporal: Client;
/** GitHub's REST API as far as creating issues goes: every issue is created. */
let issuesCreated = 0;
let api: Awaited<ReturnType<typeof startLocalServer>>;

beforeAll(async () => {
  api = await startLocalServer((request, response) => {
    request.resume();
    request.on('end', () => {
      issuesCreated++;
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ number: issuesCreated, html_url: `https://github.test/i/${issuesCreated}` }),
      );
    });
  });
  system = new System({
    allowedHosts: [`127.0.0.1:${api.port}`],
    env: { GITHUB_API_URL: `http://127.0.0.1:${api.port}` },
  });
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
  await api?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('deleting a credential stops the schedules of the workflows that used it', async () => {
  const { token, userId } = await system.signUp();
  const credentialId = await system.insertConnectedCredential(userId, 'github', 'gho_lifecycle');
  const { id: workflowId } = await system.createActiveWorkflow(token, {
    name: 'an issue every second',
    trigger: { serviceProvider: 'schedule', triggerId: 'cron', config: { every: '1s' } },
    action: {
      serviceProvider: 'github',
      actionId: 'create-issue',
      config: { owner: 'octo', repo: 'hello', title: 'tick {{trigger.scheduledTime}}' },
      credentialsId: credentialId,
    },
  });
  await waitFor(
    'two scheduled runs',
    async () => ((await system.executions(token, workflowId)).length >= 2 ? true : undefined),
    20_000,
    200,
  );

  const client = system.client(token);
  const deleted = await client.DELETE('/api/credentials/{id}', { params: { path: { id: credentialId } } });
  expect(deleted.response.status).toBe(204);
  const workflow = await client.GET('/api/workflows/{id}', { params: { path: { id: workflowId } } });
  expect(workflow.data?.isActive).toBe(false);

  // The schedule fires no more: paused (or gone) the moment the API answered.
  const schedule = await temporal.schedule
    .getHandle(`schedule:${workflowId}`)
    .describe()
    .catch((error: unknown) => {
      if (error instanceof ScheduleNotFoundError) return undefined;
      throw error;
    });
  expect(schedule === undefined || schedule.state.paused).toBe(true);

  // A fire already under way when the credential went may still record itself; after that, nothing.
  await sleep(1_500);
  const settled = (await system.executions(token, workflowId)).length;
  await sleep(3_500);
  expect((await system.executions(token, workflowId)).length).toBe(settled);
});
