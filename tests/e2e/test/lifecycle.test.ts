import { startLocalServer } from '@autoflow/fakes';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, System, waitFor } from '../src/system.js';

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
  const created = await system.api('POST', '/api/workflows', {
    token,
    body: {
      name: 'an issue every second',
      trigger: { serviceProvider: 'schedule', triggerId: 'cron', config: { every: '1s' } },
      action: {
        serviceProvider: 'github',
        actionId: 'create-issue',
        config: { owner: 'octo', repo: 'hello', title: 'tick {{trigger.scheduledTime}}' },
        credentialsId: credentialId,
      },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const workflowId = Number(field(created.body, 'id'));
  expect((await system.api('POST', `/api/workflows/${workflowId}/activate`, { token })).status).toBe(200);
  await waitFor(
    'two scheduled runs',
    async () => ((await system.executions(token, workflowId)).length >= 2 ? true : undefined),
    20_000,
    200,
  );

  const deleted = await system.api('DELETE', `/api/credentials/${credentialId}`, { token });
  expect(deleted.status).toBe(204);
  const workflow = await system.api('GET', `/api/workflows/${workflowId}`, { token });
  expect(field(workflow.body, 'isActive')).toBe(false);

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
