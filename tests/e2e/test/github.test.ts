import { createHmac } from 'node:crypto';
import { Sink, startLocalServer } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, http, System, waitFor } from '../src/system.js';

const sink = new Sink();
let system: System;
/** GitHub's REST API as far as creating issues goes; the first call is rate-limited. */
const issues: { authorization: string | undefined; body: unknown }[] = [];
let rateLimitNext = 1;
let api: Awaited<ReturnType<typeof startLocalServer>>;

beforeAll(async () => {
  await sink.start();
  api = await startLocalServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/repos/octo/hello/issues') {
        response.writeHead(404).end();
        return;
      }
      if (rateLimitNext > 0) {
        rateLimitNext--;
        response.writeHead(403, {
          'content-type': 'application/json',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1),
        });
        response.end(JSON.stringify({ message: 'API rate limit exceeded' }));
        return;
      }
      issues.push({
        authorization: request.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          number: issues.length,
          html_url: `https://github.test/octo/hello/issues/${issues.length}`,
        }),
      );
    });
  });
  system = new System({
    allowedHosts: [sink.hostPort, `127.0.0.1:${api.port}`],
    env: { GITHUB_API_URL: `http://127.0.0.1:${api.port}` },
  });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
  await api?.stop();
});

function delivery(secret: string, event: string, id: string, payload: unknown, signWith = secret) {
  const raw = JSON.stringify(payload);
  return {
    rawBody: raw,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-hub-signature-256': `sha256=${createHmac('sha256', signWith).update(raw).digest('hex')}`,
    },
  };
}

it('runs on signed issue deliveries once each, refuses bad signatures and ignores events it did not choose', async () => {
  const { token } = await system.signUp();
  const created = await system.createWorkflow(token, {
    name: 'issues to the sink',
    trigger: { serviceProvider: 'github', triggerId: 'event', config: { events: ['issues'] } },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: {
        url: `${sink.baseUrl}/github`,
        body: { repo: '{{trigger.repository}}', title: '{{trigger.payload.issue.title}}' },
      },
    },
  });
  const workflowId = created.id;
  const hookUrl = String(created.webhook?.url);
  const secret = String(created.webhook?.secret);
  expect(secret).toMatch(/^whsec_/);
  await system.activate(token, workflowId);

  const opened = {
    action: 'opened',
    issue: { title: 'Found a bug' },
    repository: { full_name: 'octo/hello' },
    sender: { login: 'octocat' },
  };
  const forged = await http('POST', hookUrl, delivery(secret, 'issues', 'd-0', opened, 'not-the-secret'));
  expect(forged.status).toBe(401);

  const first = await http('POST', hookUrl, delivery(secret, 'issues', 'd-1', opened));
  const again = await http('POST', hookUrl, delivery(secret, 'issues', 'd-1', opened));
  expect([first.status, again.status]).toEqual([202, 202]);
  expect(field(again.body, 'duplicate')).toBe(true);
  const push = await http('POST', hookUrl, delivery(secret, 'push', 'd-2', { ref: 'refs/heads/main' }));
  expect(field(push.body, 'ignored')).toBe(true);

  const [execution] = await waitFor('the issue run', async () => {
    const all = await system.executions(token, workflowId);
    return all.length > 0 && all.every((run) => field(run, 'status') !== 'running') ? all : undefined;
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await system.executions(token, workflowId)).toHaveLength(1);
  expect(field(execution, 'status')).toBe('completed');
  expect(field(execution, 'triggerData', 'sender')).toBe('octocat');
  expect(field(execution, 'triggerData', 'headers')).toBeUndefined();
  expect(sink.forPath('/github').map((request) => request.body)).toEqual([
    { repo: 'octo/hello', title: 'Found a bug' },
  ]);
});

it('creates an issue as the connected account, after waiting out a rate limit', async () => {
  const { token, userId } = await system.signUp();
  const credentialId = await system.insertConnectedCredential(userId, 'github', 'gho_test_token');
  const created = await system.createWorkflow(token, {
    name: 'file an issue',
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action: {
      serviceProvider: 'github',
      actionId: 'create-issue',
      config: { owner: 'octo', repo: 'hello', title: 'Report: {{trigger.payload.what}}', labels: ['bot'] },
      credentialsId: credentialId,
    },
  });
  const run = await system.runWorkflow(token, created.id, { what: 'disk full' });
  const execution = await waitFor('the issue to be created', async () => {
    const current = await system.execution(token, run.executionId);
    return current.status === 'running' ? undefined : current;
  });
  expect(field(execution, 'status')).toBe('completed');
  expect(field(execution, 'actionResult')).toEqual({
    number: 1,
    url: 'https://github.test/octo/hello/issues/1',
  });
  expect(issues).toEqual([
    { authorization: 'Bearer gho_test_token', body: { title: 'Report: disk full', labels: ['bot'] } },
  ]);
});

it('treats a captured delivery replayed under a new X-GitHub-Delivery as a duplicate, and never logs the hook id', async () => {
  const { token } = await system.signUp();
  const created = await system.createWorkflow(token, {
    name: 'replayed issues',
    trigger: { serviceProvider: 'github', triggerId: 'event', config: { events: ['issues'] } },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { url: `${sink.baseUrl}/replayed`, body: { title: '{{trigger.payload.issue.title}}' } },
    },
  });
  const workflowId = created.id;
  const hookUrl = String(created.webhook?.url);
  const hookId = hookUrl.slice(hookUrl.lastIndexOf('/') + 1);
  const secret = String(created.webhook?.secret);
  await system.activate(token, workflowId);

  const opened = { action: 'opened', issue: { title: 'Replay me' }, repository: { full_name: 'octo/hello' } };
  const original = delivery(secret, 'issues', 'r-1', opened);
  const first = await http('POST', hookUrl, original);
  // GitHub's own redelivery (same id, same body) and an attacker's replay of the captured bytes under a
  // new delivery id: the signature covers only the body, so both are the same event.
  const redelivered = await http('POST', hookUrl, original);
  const replayed = await http('POST', hookUrl, {
    rawBody: original.rawBody,
    headers: { ...original.headers, 'x-github-delivery': 'r-forged-2' },
  });
  expect([first.status, redelivered.status, replayed.status]).toEqual([202, 202, 202]);
  expect([field(first.body, 'duplicate'), field(redelivered.body, 'duplicate')]).toEqual([false, true]);
  expect(field(replayed.body, 'duplicate')).toBe(true);
  // A different issue event is a new run.
  const edited = await http(
    'POST',
    hookUrl,
    delivery(secret, 'issues', 'r-3', { ...opened, action: 'edited' }),
  );
  expect(field(edited.body, 'duplicate')).toBe(false);
  // Refused and unknown deliveries are logged too.
  expect((await http('POST', hookUrl, delivery(secret, 'issues', 'r-4', opened, 'wrong'))).status).toBe(401);

  await waitFor('both runs', async () => {
    const all = await system.executions(token, workflowId);
    return all.length >= 2 && all.every((run) => field(run, 'status') !== 'running') ? all : undefined;
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await system.executions(token, workflowId)).toHaveLength(2);
  expect(sink.forPath('/replayed')).toHaveLength(2);

  // The hook id is the URL's secret part: no app prints it.
  expect(system.logLines.some((line) => line.includes('/hooks/'))).toBe(true);
  expect(system.logLines.filter((line) => line.includes(hookId))).toEqual([]);
});
