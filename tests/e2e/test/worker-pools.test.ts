import { generateKey } from '@autoflow/crypto';
import { FakeSlack, Sink } from '@autoflow/fakes';
import type { ManagedProcess } from '@autoflow/local-stack';
import { TASK_QUEUES } from '@autoflow/workflow-contracts';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { System, type WorkflowBody, waitFor } from '../src/system.js';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY (the client does not export the enums). */
const ACTIVITY_TASK_QUEUE = 2;
const SLACK_QUEUE = 'slack-queue';

const slack = new FakeSlack();
const sink = new Sink();
let system: System;
let connection: Connection;
let mainPool: ManagedProcess;
let slackPool: ManagedProcess;

beforeAll(async () => {
  await slack.start();
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort], env: { SLACK_API_URL: slack.apiUrl } });
  await system.start();
  // Not the default worker (every queue): two pools with disjoint queues.
  await system.apps.get('worker')?.stop();
  mainPool = await system.launched.startExtraApp('worker', {
    WORKER_TASK_QUEUES: `${TASK_QUEUES.automation},${TASK_QUEUES.actions}`,
  });
  slackPool = await system.launched.startExtraApp('worker', { WORKER_TASK_QUEUES: SLACK_QUEUE });
  connection = await Connection.connect({ address: system.launched.env.TEMPORAL_ADDRESS });
}, 120_000);

afterAll(async () => {
  await connection?.close();
  await system?.stop();
  await slack.stop();
  await sink.stop();
});

/** The process ids of the workers polling a queue (a worker's identity is pid@host). */
async function pollerPids(taskQueue: string, activity: boolean): Promise<Set<number>> {
  const described = await connection.workflowService.describeTaskQueue({
    namespace: system.launched.namespace,
    taskQueue: { name: taskQueue },
    ...(activity ? { taskQueueType: ACTIVITY_TASK_QUEUE } : {}),
  });
  return new Set((described.pollers ?? []).map((poller) => Number.parseInt(poller.identity ?? '', 10)));
}

async function createManualWorkflow(token: string, action: WorkflowBody['action']): Promise<number> {
  const created = await system.createWorkflow(token, {
    name: 'pooled',
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action,
  });
  return created.id;
}

async function run(token: string, workflowId: number, payload: unknown): Promise<number> {
  return (await system.runWorkflow(token, workflowId, payload)).executionId;
}

async function status(token: string, executionId: number): Promise<unknown> {
  return (await system.execution(token, executionId)).status;
}

function finished(token: string, executionId: number) {
  return waitFor(`execution ${executionId} to finish`, async () => {
    const current = await status(token, executionId);
    return current === 'running' ? undefined : current;
  });
}

it('serves Slack and HTTP runs from two worker processes with disjoint queues', async () => {
  const { token, userId } = await system.signUp();
  const botToken = `xoxb-${generateKey()}`;
  slack.validTokens.add(botToken);
  const credentialId = await system.insertConnectedCredential(userId, 'slack', botToken);
  const slackWorkflow = await createManualWorkflow(token, {
    serviceProvider: 'slack',
    actionId: 'post-message',
    config: { channel: '#general', text: 'Hello {{trigger.payload.name}}' },
    credentialsId: credentialId,
  });
  const httpWorkflow = await createManualWorkflow(token, {
    serviceProvider: 'http',
    actionId: 'request',
    config: { url: `${sink.baseUrl}/pooled`, body: '{{trigger.payload.name}}' },
  });

  const [slackRun, httpRun] = await Promise.all([
    run(token, slackWorkflow, { name: 'Ada' }),
    run(token, httpWorkflow, { name: 'Grace' }),
  ]);
  expect(await finished(token, slackRun)).toBe('completed');
  expect(await finished(token, httpRun)).toBe('completed');
  expect(slack.posted.map((post) => post.text)).toEqual(['Hello Ada']);
  expect(sink.forPath('/pooled')).toHaveLength(1);

  // Which process served what: the main pool polls the main and actions queues and not slack-queue, the
  // Slack pool the reverse (the stopped default worker may still be listed for a while).
  const mainPid = mainPool.child.pid;
  const slackPid = slackPool.child.pid;
  console.log(`main pool pid ${mainPid}, slack pool pid ${slackPid}`);
  const mainQueuePollers = await pollerPids(TASK_QUEUES.automation, false);
  const actionsQueuePollers = await pollerPids(TASK_QUEUES.actions, true);
  const slackQueuePollers = await pollerPids(SLACK_QUEUE, true);
  console.log('pollers', { mainQueuePollers, actionsQueuePollers, slackQueuePollers });
  expect(mainQueuePollers).toContain(mainPid);
  expect(mainQueuePollers).not.toContain(slackPid);
  expect(actionsQueuePollers).toContain(mainPid);
  expect(actionsQueuePollers).not.toContain(slackPid);
  expect(slackQueuePollers).toContain(slackPid);
  expect(slackQueuePollers).not.toContain(mainPid);

  // Without the Slack pool, Slack posts wait on their queue while HTTP runs still complete.
  await slackPool.stop();
  const queuedSlackRun = await run(token, slackWorkflow, { name: 'Linus' });
  const laterHttpRun = await run(token, httpWorkflow, { name: 'Barbara' });
  expect(await finished(token, laterHttpRun)).toBe('completed');
  expect(sink.forPath('/pooled')).toHaveLength(2);
  expect(await status(token, queuedSlackRun)).toBe('running');
  expect(slack.posted).toHaveLength(1);

  // A Slack pool back: the queued post is sent, once.
  await system.launched.startExtraApp('worker', { WORKER_TASK_QUEUES: SLACK_QUEUE });
  expect(await finished(token, queuedSlackRun)).toBe('completed');
  expect(slack.posted.map((post) => post.text)).toEqual(['Hello Ada', 'Hello Linus']);
});

it('refuses to start on an unknown queue name, listing the known ones', async () => {
  await expect(system.launched.startExtraApp('worker', { WORKER_TASK_QUEUES: 'slak-queue' })).rejects.toThrow(
    'worker exited with code 1',
  );
  expect(
    system.logLines.some(
      (line) =>
        line.includes('unknown task queue(s) slak-queue') && /known: .*automation-workflows/.test(line),
    ),
  ).toBe(true);
});
