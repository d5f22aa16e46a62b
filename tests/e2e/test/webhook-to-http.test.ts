import { Sink } from '@autoflow/fakes';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, listOf, System, waitFor } from '../src/system.js';

const sink = new Sink();
let system: System;
let token: string;

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
  ({ token } = await system.signUp('owner@example.com'));
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
});

async function createWorkflow(body: unknown): Promise<{ id: number; hookUrl: string; secret: unknown }> {
  const response = await system.api('POST', '/api/workflows', { token, body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return {
    id: Number(field(response.body, 'id')),
    hookUrl: String(field(response.body, 'webhook', 'url')),
    secret: field(response.body, 'webhook', 'secret'),
  };
}

function webhookToHttp(path: string, name = `to ${path}`) {
  return {
    name,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: {
        method: 'POST',
        url: `${sink.baseUrl}${path}`,
        body: { greeting: 'Hello {{trigger.body.name}}', n: '{{trigger.body.n}}' },
      },
    },
  };
}

async function finishedExecutions(workflowId: number, count: number) {
  return waitFor(`${count} finished executions of workflow ${workflowId}`, async () => {
    const executions = await system.executions(token, workflowId);
    const finished = executions.filter((execution) => field(execution, 'status') !== 'running');
    return finished.length >= count ? executions : undefined;
  });
}

describe('accounts and catalog', () => {
  it('registers, logs in and answers /api/me', async () => {
    const login = await system.api('POST', '/api/auth/login', {
      body: { email: 'owner@example.com', password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    const me = await system.api('GET', '/api/me', { token: String(field(login.body, 'token')) });
    expect(field(me.body, 'email')).toBe('owner@example.com');

    const wrong = await system.api('POST', '/api/auth/login', {
      body: { email: 'owner@example.com', password: 'nope-nope-nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.contentType).toContain('application/problem+json');
    expect(field(wrong.body, 'code')).toBe('invalid_credentials');

    const again = await system.api('POST', '/api/auth/register', {
      body: { email: 'OWNER@example.com', password: 'whatever-123' },
    });
    expect(again.status).toBe(409);
    expect(field(again.body, 'code')).toBe('email_taken');

    expect((await system.api('GET', '/api/me')).status).toBe(401);
  });

  it('lists the installed providers with JSON Schemas', async () => {
    const catalog = await system.api('GET', '/api/catalog', { token });
    expect(catalog.status).toBe(200);
    const providers = listOf(catalog.body, 'providers');
    expect(providers.map((provider) => field(provider, 'id')).sort()).toEqual([
      'github',
      'gmail',
      'http',
      'manual',
      'schedule',
      'slack',
      'webhook',
    ]);
    const gmail = providers.find((provider) => field(provider, 'id') === 'gmail');
    expect(field(gmail, 'auth', 'type')).toBe('oauth2');
    expect(field(gmail, 'auth', 'scopes')).toContain('https://www.googleapis.com/auth/gmail.send');
    const http = providers.find((provider) => field(provider, 'id') === 'http');
    expect(field(http, 'actions', 0, 'id')).toBe('request');
    expect(field(http, 'actions', 0, 'configSchema', 'properties', 'url', 'type')).toBe('string');
    const webhook = providers.find((provider) => field(provider, 'id') === 'webhook');
    expect(field(webhook, 'triggers', 0, 'kind')).toBe('webhook');
    expect(field(webhook, 'triggers', 0, 'outputSchema', 'properties')).toHaveProperty('body');
  });

  it('serves OpenAPI 3.1 and health on every app', async () => {
    const docs = await system.api('GET', '/openapi.json');
    expect(field(docs.body, 'openapi')).toBe('3.1.0');
    expect(field(docs.body, 'paths')).toHaveProperty('/api/workflows/{id}/run');
    for (const app of ['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'] as const) {
      expect((await http('GET', system.url(app, '/healthz'))).status).toBe(200);
      expect((await http('GET', system.url(app, '/readyz'))).status).toBe(200);
    }
  });
});

describe('webhook → HTTP request', () => {
  it('runs once per event, renders templates and records every run', async () => {
    const workflow = await createWorkflow(webhookToHttp('/ok'));
    expect(workflow.hookUrl).toMatch(/\/hooks\/[A-Za-z0-9_-]{32}$/);

    // Inactive hooks start nothing.
    expect((await http('POST', workflow.hookUrl, { body: { name: 'early' } })).status).toBe(404);
    expect((await system.api('POST', `/api/workflows/${workflow.id}/activate`, { token })).status).toBe(200);

    const events = Array.from({ length: 50 }, (_, index) => index);
    const answers = await Promise.all(
      events.map((index) =>
        http('POST', workflow.hookUrl, {
          body: { name: `user-${index}`, n: index },
          headers: { 'webhook-id': `evt-${index}` },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(events.map(() => 202));

    const executions = await finishedExecutions(workflow.id, 50);
    expect(executions).toHaveLength(50);
    for (const execution of executions) {
      expect(field(execution, 'status')).toBe('completed');
      expect(String(field(execution, 'temporalWorkflowId'))).toMatch(
        new RegExp(`^run:${workflow.id}:webhook:evt-\\d+$`),
      );
      expect(field(execution, 'temporalRunId')).toEqual(expect.any(String));
      expect(field(execution, 'actionResult', 'status')).toBe(200);
      expect(field(execution, 'completedAt')).toEqual(expect.any(String));
    }

    const received = sink.forPath('/ok');
    expect(received).toHaveLength(50);
    expect(sink.distinctKeys('/ok').size).toBe(50);
    const bodies = received.map((request) => request.body);
    bodies.sort((a, b) => Number(field(a, 'n')) - Number(field(b, 'n')));
    expect(bodies).toEqual(events.map((index) => ({ greeting: `Hello user-${index}`, n: index })));

    // A redelivered event (same webhook-id) is accepted but starts nothing.
    const redelivery = await http('POST', workflow.hookUrl, {
      body: { name: 'again' },
      headers: { 'webhook-id': 'evt-7' },
    });
    expect(redelivery.status).toBe(202);
    expect(field(redelivery.body, 'duplicate')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await system.executions(token, workflow.id)).toHaveLength(50);
    expect(sink.forPath('/ok')).toHaveLength(50);

    // Deactivated: the hook is gone again.
    await system.api('POST', `/api/workflows/${workflow.id}/deactivate`, { token });
    expect((await http('POST', workflow.hookUrl, { body: {} })).status).toBe(404);
  });

  it('retries a 500 until the target recovers, with one idempotency key', async () => {
    const workflow = await createWorkflow(webhookToHttp('/flaky'));
    await system.api('POST', `/api/workflows/${workflow.id}/activate`, { token });
    expect((await http('POST', workflow.hookUrl, { body: { name: 'flaky', n: 1 } })).status).toBe(202);

    const [execution] = await finishedExecutions(workflow.id, 1);
    expect(field(execution, 'status')).toBe('completed');
    expect(field(execution, 'actionResult', 'body', 'attempt')).toBe(3);
    expect(sink.forPath('/flaky')).toHaveLength(3);
    expect(sink.distinctKeys('/flaky').size).toBe(1);
  });

  it('fails a 400 at once with a readable error', async () => {
    const workflow = await createWorkflow(webhookToHttp('/bad'));
    await system.api('POST', `/api/workflows/${workflow.id}/activate`, { token });
    await http('POST', workflow.hookUrl, { body: { name: 'bad', n: 1 } });

    const [execution] = await finishedExecutions(workflow.id, 1);
    expect(field(execution, 'status')).toBe('failed');
    expect(String(field(execution, 'errorMessage'))).toMatch(
      /^HTTP 400 from 127\.0\.0\.1:\d+: .*does not like/,
    );
    // No retry follows a permanent failure.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sink.forPath('/bad')).toHaveLength(1);
  });

  it('refuses loopback targets that are not allow-listed', async () => {
    const workflow = await createWorkflow({
      ...webhookToHttp('/ok'),
      action: { serviceProvider: 'http', actionId: 'request', config: { url: 'http://127.0.0.1:9/admin' } },
    });
    await system.api('POST', `/api/workflows/${workflow.id}/activate`, { token });
    await http('POST', workflow.hookUrl, { body: {} });
    const [execution] = await finishedExecutions(workflow.id, 1);
    expect(field(execution, 'status')).toBe('failed');
    expect(String(field(execution, 'errorMessage'))).toContain('refused: 127.0.0.1 is not a public address');
  });

  it('verifies Standard Webhooks signatures when the workflow asks for them', async () => {
    const workflow = await createWorkflow({
      ...webhookToHttp('/ok', 'signed'),
      trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: { verifySignature: true } },
    });
    expect(String(workflow.secret)).toMatch(/^whsec_/);
    // The secret is shown once: reading the workflow again does not reveal it.
    const read = await system.api('GET', `/api/workflows/${workflow.id}`, { token });
    expect(field(read.body, 'webhook', 'secret')).toBeUndefined();
    await system.api('POST', `/api/workflows/${workflow.id}/activate`, { token });

    const payload = JSON.stringify({ name: 'signed', n: 99 });
    const unsigned = await http('POST', workflow.hookUrl, {
      rawBody: payload,
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(401);
    expect(field(unsigned.body, 'code')).toBe('invalid_signature');

    const signer = new Webhook(String(workflow.secret));
    const timestamp = new Date();
    const forged = await http('POST', workflow.hookUrl, {
      rawBody: payload.replace('99', '100'),
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg-1',
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signer.sign('msg-1', timestamp, payload),
      },
    });
    expect(forged.status).toBe(401);

    const signed = await http('POST', workflow.hookUrl, {
      rawBody: payload,
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg-1',
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signer.sign('msg-1', timestamp, payload),
      },
    });
    expect(signed.status).toBe(202);
    const [execution] = await finishedExecutions(workflow.id, 1);
    expect(field(execution, 'status')).toBe('completed');
    expect(field(execution, 'triggerData', 'headers')).not.toHaveProperty('webhook-signature');
  });

  it('answers 404 for an unknown hook', async () => {
    const response = await http('POST', system.url('trigger-ingest', '/hooks/does-not-exist'), { body: {} });
    expect(response.status).toBe(404);
    expect(field(response.body, 'code')).toBe('not_found');
  });
});

describe('manual runs', () => {
  it('gives one execution per Idempotency-Key', async () => {
    const workflow = await createWorkflow({
      name: 'by hand',
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: `${sink.baseUrl}/ok`, body: '{{trigger.payload}}' },
      },
    });
    const run = () =>
      system.api('POST', `/api/workflows/${workflow.id}/run`, {
        token,
        body: { payload: { hello: 'world' } },
        headers: { 'idempotency-key': 'click-1' },
      });
    const first = await run();
    const second = await run();
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(field(second.body, 'executionId')).toBe(field(first.body, 'executionId'));
    expect(field(first.body, 'temporalWorkflowId')).toBe(`run:${workflow.id}:manual:click-1`);

    const execution = await waitFor('the manual run to finish', async () => {
      const response = await system.api(
        'GET',
        `/api/executions/${String(field(first.body, 'executionId'))}`,
        { token },
      );
      return field(response.body, 'status') === 'completed' ? response.body : undefined;
    });
    expect(field(execution, 'triggerData')).toEqual({ payload: { hello: 'world' } });
    expect(field(execution, 'actionResult', 'body', 'received')).toEqual({ hello: 'world' });
    expect(await system.executions(token, workflow.id)).toHaveLength(1);
    const read = await system.api('GET', `/api/workflows/${workflow.id}`, { token });
    expect(field(read.body, 'lastRun')).toBe(field(execution, 'startedAt'));
  });
});

describe('validation and ownership', () => {
  const valid = () => webhookToHttp('/ok', 'valid');

  async function expectRejected(body: unknown, status: number, code: string, path?: string) {
    const before = listOf((await system.api('GET', '/api/workflows?limit=100', { token })).body).length;
    const response = await system.api('POST', '/api/workflows', { token, body });
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.contentType).toContain('application/problem+json');
    expect(field(response.body, 'code')).toBe(code);
    if (path)
      expect(listOf(response.body, 'issues').map((issue) => field(issue, 'path'))).toContainEqual(
        path.split('.'),
      );
    const after = listOf((await system.api('GET', '/api/workflows?limit=100', { token })).body).length;
    expect(after).toBe(before);
  }

  it('rejects unknown triggers and actions', async () => {
    await expectRejected(
      { ...valid(), trigger: { serviceProvider: 'webhook', triggerId: 'nope', config: {} } },
      400,
      'validation_failed',
      'trigger.triggerId',
    );
    await expectRejected(
      { ...valid(), action: { serviceProvider: 'fax', actionId: 'send', config: {} } },
      400,
      'validation_failed',
      'action.actionId',
    );
  });

  it('rejects bad config', async () => {
    await expectRejected(
      {
        ...valid(),
        action: {
          serviceProvider: 'http',
          actionId: 'request',
          config: { url: 'not a url', method: 'BREW' },
        },
      },
      400,
      'validation_failed',
      'action.config.url',
    );
    await expectRejected({ name: '', trigger: {}, action: {} }, 400, 'validation_failed');
  });

  it('rejects a template naming a field the trigger does not output', async () => {
    await expectRejected(
      {
        name: 'typo',
        trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
        action: {
          serviceProvider: 'http',
          actionId: 'request',
          config: { url: `${sink.baseUrl}/ok`, body: { x: '{{trigger.subject}}' } },
        },
      },
      400,
      'validation_failed',
      'action.config.body.x',
    );
  });

  it("hides another user's credentials, workflows and executions", async () => {
    const other = await system.signUp();
    const [credential] = await system.sql<{ id: number }[]>`
      insert into credentials (user_id, service_provider, credential_type, name)
      values (${other.userId}, 'http', 'oauth2', 'theirs') returning id`;
    await expectRejected(
      { ...valid(), action: { ...valid().action, credentialsId: credential?.id } },
      404,
      'not_found',
    );

    const mine = await createWorkflow({
      name: 'mine',
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: { serviceProvider: 'http', actionId: 'request', config: { url: `${sink.baseUrl}/ok` } },
    });
    const run = await system.api('POST', `/api/workflows/${mine.id}/run`, { token, body: {} });
    const executionId = String(field(run.body, 'executionId'));
    for (const [method, path] of [
      ['GET', `/api/workflows/${mine.id}`],
      ['PATCH', `/api/workflows/${mine.id}`],
      ['DELETE', `/api/workflows/${mine.id}`],
      ['POST', `/api/workflows/${mine.id}/run`],
      ['POST', `/api/workflows/${mine.id}/activate`],
      ['GET', `/api/workflows/${mine.id}/executions`],
      ['GET', `/api/executions/${executionId}`],
    ] as const) {
      const response = await system.api(method, path, {
        token: other.token,
        body: method === 'GET' || method === 'DELETE' ? undefined : {},
      });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    expect((await system.api('GET', `/api/executions/${executionId}`, { token })).status).toBe(200);
  });

  it('edits a workflow with the same validation', async () => {
    const workflow = await createWorkflow(valid());
    const renamed = await system.api('PATCH', `/api/workflows/${workflow.id}`, {
      token,
      body: { name: 'renamed' },
    });
    expect(field(renamed.body, 'name')).toBe('renamed');
    expect(field(renamed.body, 'webhook', 'url')).toBe(workflow.hookUrl);
    const broken = await system.api('PATCH', `/api/workflows/${workflow.id}`, {
      token,
      body: { action: { serviceProvider: 'http', actionId: 'request', config: { url: 'ftp://x' } } },
    });
    expect(broken.status).toBe(400);
    expect(
      field(
        (await system.api('GET', `/api/workflows/${workflow.id}`, { token })).body,
        'action',
        'config',
        'url',
      ),
    ).toBe(`${sink.baseUrl}/ok`);
    expect((await system.api('DELETE', `/api/workflows/${workflow.id}`, { token })).status).toBe(204);
    expect((await system.api('GET', `/api/workflows/${workflow.id}`, { token })).status).toBe(404);
  });
});

describe('secrets stay out of logs and answers', () => {
  it('never logs bearer tokens or webhook secrets', () => {
    const log = system.logLines.join('\n');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(token);
    expect(log).not.toMatch(/whsec_/);
  });
});
