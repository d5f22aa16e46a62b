import type { operations } from '@autoflow/client';
import { Sink } from '@autoflow/fakes';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System, waitFor } from '../src/system.js';

type WorkflowBody = operations['createWorkflow']['requestBody']['content']['application/json'];

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

async function createWorkflow(body: WorkflowBody): Promise<{ id: number; hookUrl: string; secret: unknown }> {
  const { data, error } = await system.client(token).POST('/api/workflows', { body });
  if (!data) throw new Error(`creating the workflow failed: ${JSON.stringify(error)}`);
  return { id: data.id, hookUrl: String(data.webhook?.url), secret: data.webhook?.secret };
}

/** Activates or deactivates a workflow; answers the status. */
async function setActive(workflowId: number, active: boolean): Promise<number> {
  const client = system.client(token);
  const options = { params: { path: { id: workflowId } } };
  const { response } = active
    ? await client.POST('/api/workflows/{id}/activate', options)
    : await client.POST('/api/workflows/{id}/deactivate', options);
  return response.status;
}

function webhookToHttp(path: string, name = `to ${path}`): WorkflowBody {
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
    const anonymous = system.client();
    const login = await anonymous.POST('/api/auth/login', {
      body: { email: 'owner@example.com', password: 'correct horse battery' },
    });
    expect(login.response.status).toBe(200);
    const me = await system.client(login.data?.token).GET('/api/me');
    expect(me.data?.email).toBe('owner@example.com');

    const wrong = await anonymous.POST('/api/auth/login', {
      body: { email: 'owner@example.com', password: 'nope-nope-nope' },
    });
    expect(wrong.response.status).toBe(401);
    expect(wrong.response.headers.get('content-type')).toContain('application/problem+json');
    expect(wrong.error?.code).toBe('invalid_credentials');

    const again = await anonymous.POST('/api/auth/register', {
      body: { email: 'OWNER@example.com', password: 'whatever-123' },
    });
    expect(again.response.status).toBe(409);
    expect(again.error?.code).toBe('email_taken');

    expect((await anonymous.GET('/api/me')).response.status).toBe(401);
  });

  it('lists the installed providers with JSON Schemas', async () => {
    const catalog = await system.client(token).GET('/api/catalog');
    expect(catalog.response.status).toBe(200);
    const providers = catalog.data?.providers ?? [];
    expect(providers.map((provider) => provider.id).sort()).toEqual([
      'github',
      'gmail',
      'http',
      'manual',
      'schedule',
      'slack',
      'webhook',
    ]);
    const gmail = providers.find((provider) => provider.id === 'gmail');
    expect(gmail?.auth.type).toBe('oauth2');
    expect(gmail?.auth.scopes).toContain('https://www.googleapis.com/auth/gmail.send');
    const http = providers.find((provider) => provider.id === 'http');
    expect(http?.actions[0]?.id).toBe('request');
    expect(field(http?.actions[0]?.configSchema, 'properties', 'url', 'type')).toBe('string');
    const webhook = providers.find((provider) => provider.id === 'webhook');
    expect(webhook?.triggers[0]?.kind).toBe('webhook');
    expect(field(webhook, 'triggers', 0, 'outputSchema', 'properties')).toHaveProperty('body');
  });

  it('serves OpenAPI 3.1 and health on every app', async () => {
    const docs = await http('GET', system.url('api-gateway', '/openapi.json'));
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
    expect(await setActive(workflow.id, true)).toBe(200);

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

    // Deactivated: the hook is gone again, once trigger-ingest has the change's notification (webhook-cache.test.ts).
    expect(await setActive(workflow.id, false)).toBe(200);
    await waitFor('the deactivated hook to answer 404', async () =>
      (await http('POST', workflow.hookUrl, { body: {} })).status === 404 ? true : undefined,
    );
    expect((await http('POST', workflow.hookUrl, { body: {} })).status).toBe(404);
  });

  it('retries a 500 until the target recovers, with one idempotency key', async () => {
    const workflow = await createWorkflow(webhookToHttp('/flaky'));
    expect(await setActive(workflow.id, true)).toBe(200);
    expect((await http('POST', workflow.hookUrl, { body: { name: 'flaky', n: 1 } })).status).toBe(202);

    const [execution] = await finishedExecutions(workflow.id, 1);
    expect(field(execution, 'status')).toBe('completed');
    expect(field(execution, 'actionResult', 'body', 'attempt')).toBe(3);
    // Two failed attempts counted on the row, although the first one raced its run's start record.
    expect(field(await system.execution(token, Number(field(execution, 'id'))), 'attempts')).toBe(3);
    expect(sink.forPath('/flaky')).toHaveLength(3);
    expect(sink.distinctKeys('/flaky').size).toBe(1);
  });

  it("calls the action while the run's start record is still waiting for Postgres", async () => {
    const workflow = await createWorkflow(webhookToHttp('/beside-start'));
    expect(await setActive(workflow.id, true)).toBe(200);
    // Inserts into the executions table wait for this lock; reads do not. The start record of the run
    // waits, and the action's request must reach the sink meanwhile (it used to wait for the record).
    await system.sql.begin(async (transaction) => {
      await transaction`lock table workflow_executions in share row exclusive mode`;
      expect((await http('POST', workflow.hookUrl, { body: { name: 'beside', n: 1 } })).status).toBe(202);
      await waitFor(
        'the action at the sink while the start record waits',
        async () => (sink.forPath('/beside-start').length > 0 ? true : undefined),
        20_000,
      );
    });
    const [execution] = await finishedExecutions(workflow.id, 1);
    expect(field(execution, 'status')).toBe('completed');
    expect(field(execution, 'actionResult', 'body', 'received', 'greeting')).toBe('Hello beside');
  });

  it('fails a 400 at once with a readable error', async () => {
    const workflow = await createWorkflow(webhookToHttp('/bad'));
    expect(await setActive(workflow.id, true)).toBe(200);
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
    expect(await setActive(workflow.id, true)).toBe(200);
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
    const read = await system
      .client(token)
      .GET('/api/workflows/{id}', { params: { path: { id: workflow.id } } });
    expect(read.data?.webhook?.secret).toBeUndefined();
    expect(await setActive(workflow.id, true)).toBe(200);

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
    const client = system.client(token);
    const run = () =>
      client.POST('/api/workflows/{id}/run', {
        params: { path: { id: workflow.id }, header: { 'idempotency-key': 'click-1' } },
        body: { payload: { hello: 'world' } },
      });
    const first = await run();
    const second = await run();
    expect(first.response.status).toBe(202);
    expect(second.response.status).toBe(202);
    const executionId = Number(first.data?.executionId);
    expect(second.data?.executionId).toBe(executionId);
    expect(first.data?.temporalWorkflowId).toBe(`run:${workflow.id}:manual:click-1`);

    const execution = await waitFor('the manual run to finish', async () => {
      const { data } = await client.GET('/api/executions/{id}', { params: { path: { id: executionId } } });
      return data?.status === 'completed' ? data : undefined;
    });
    expect(execution.triggerData).toEqual({ payload: { hello: 'world' } });
    expect(field(execution.actionResult, 'body', 'received')).toEqual({ hello: 'world' });
    expect(await system.executions(token, workflow.id)).toHaveLength(1);
    const read = await client.GET('/api/workflows/{id}', { params: { path: { id: workflow.id } } });
    expect(read.data?.lastRun).toBe(execution.startedAt);
  });
});

describe('validation and ownership', () => {
  const valid = () => webhookToHttp('/ok', 'valid');

  const workflowCount = async () =>
    (await system.client(token).GET('/api/workflows', { params: { query: { limit: 100 } } })).data?.items
      .length;

  async function expectRejected(body: WorkflowBody, status: number, code: string, path?: string) {
    const before = await workflowCount();
    const { response, error } = await system.client(token).POST('/api/workflows', { body });
    expect(response.status, JSON.stringify(error)).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(error?.code).toBe(code);
    if (path) expect(error?.issues?.map((issue) => issue.path)).toContainEqual(path.split('.'));
    expect(await workflowCount()).toBe(before);
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
    await expectRejected(
      {
        name: '',
        trigger: { serviceProvider: '', triggerId: '' },
        action: { serviceProvider: '', actionId: '' },
      },
      400,
      'validation_failed',
    );
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
    const run = await system.client(token).POST('/api/workflows/{id}/run', {
      params: { path: { id: mine.id } },
      body: {},
    });
    const executionId = Number(run.data?.executionId);
    const theirs = system.client(other.token);
    const workflow = { params: { path: { id: mine.id } } };
    const execution = { params: { path: { id: executionId } } };
    const answers = {
      get: await theirs.GET('/api/workflows/{id}', workflow),
      patch: await theirs.PATCH('/api/workflows/{id}', { ...workflow, body: {} }),
      delete: await theirs.DELETE('/api/workflows/{id}', workflow),
      run: await theirs.POST('/api/workflows/{id}/run', { ...workflow, body: {} }),
      activate: await theirs.POST('/api/workflows/{id}/activate', workflow),
      executions: await theirs.GET('/api/workflows/{id}/executions', workflow),
      execution: await theirs.GET('/api/executions/{id}', execution),
    };
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer.response.status, name).toBe(404);
      expect(answer.error?.code, name).toBe('not_found');
    }
    expect((await system.client(token).GET('/api/executions/{id}', execution)).response.status).toBe(200);
  });

  it('edits a workflow with the same validation', async () => {
    const workflow = await createWorkflow(valid());
    const client = system.client(token);
    const byId = { params: { path: { id: workflow.id } } };
    const renamed = await client.PATCH('/api/workflows/{id}', { ...byId, body: { name: 'renamed' } });
    expect(renamed.data?.name).toBe('renamed');
    expect(renamed.data?.webhook?.url).toBe(workflow.hookUrl);
    const broken = await client.PATCH('/api/workflows/{id}', {
      ...byId,
      body: { action: { serviceProvider: 'http', actionId: 'request', config: { url: 'ftp://x' } } },
    });
    expect(broken.response.status).toBe(400);
    expect(field((await client.GET('/api/workflows/{id}', byId)).data?.action.config, 'url')).toBe(
      `${sink.baseUrl}/ok`,
    );
    expect((await client.DELETE('/api/workflows/{id}', byId)).response.status).toBe(204);
    expect((await client.GET('/api/workflows/{id}', byId)).response.status).toBe(404);
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
