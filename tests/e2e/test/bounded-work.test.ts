import { Sink } from '@autoflow/fakes';
import { MAX_RENDERED_CONFIG_BYTES, MAX_TRIGGER_DATA_BYTES } from '@autoflow/workflow-contracts';
import { ApplicationFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { field, http, System, waitFor } from '../src/system.js';

// Issue 11: what one run may cost is bounded (rendered size, trigger data), and a run whose workflow
// is deleted while it is in flight ends and says why.

const sink = new Sink();
let system: System;
let connection: Connection;
let temporal: Client;
let token: string;

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
  ({ token } = await system.signUp());
  connection = await Connection.connect({ address: inject('temporalAddress') });
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

/** A webhook → HTTP workflow, activated; returns its id and hook URL. */
async function webhookToHttp(url: string, body: unknown): Promise<{ id: number; hookUrl: string }> {
  return system.createActiveWorkflow(token, {
    name: `to ${url}`,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: { serviceProvider: 'http', actionId: 'request', config: { method: 'POST', url, body } },
  });
}

/** The closed run's failure, as Temporal reports it (the run's own message and its cause's). */
async function closedRun(temporalWorkflowId: string, timeoutMs = 60_000) {
  const handle = temporal.workflow.getHandle(temporalWorkflowId);
  const description = await waitFor(
    `run ${temporalWorkflowId} to close`,
    async () => {
      const described = await handle.describe().catch(() => undefined);
      return described && described.status.name !== 'RUNNING' ? described : undefined;
    },
    timeoutMs,
    250,
  );
  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => error,
  );
  const messages: string[] = [];
  const types: string[] = [];
  let nonRetryable = false;
  let cause: unknown = failure instanceof WorkflowFailedError ? failure.cause : failure;
  while (cause instanceof Error) {
    messages.push(cause.message);
    if (cause instanceof ApplicationFailure) {
      if (cause.type) types.push(cause.type);
      nonRetryable ||= cause.nonRetryable === true;
    }
    cause = cause.cause;
  }
  return { status: description.status.name, messages: messages.join(' / '), types, nonRetryable };
}

describe('rendered size', () => {
  it('fails a run whose templates would render past the limit, sends nothing and keeps the worker healthy', async () => {
    const path = '/render-budget';
    const body = Array.from({ length: 300 }, () => '{{trigger.body.big}}');
    const workflow = await webhookToHttp(`${sink.baseUrl}${path}`, body);
    const big = 'x'.repeat(900 * 1024);
    const answer = await http('POST', workflow.hookUrl, {
      body: { big },
      headers: { 'webhook-id': 'big-1' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);

    const execution = await waitFor('the failed execution', async () => {
      const [first] = await system.executions(token, workflow.id);
      return first && field(first, 'status') !== 'running' ? first : undefined;
    });
    expect(field(execution, 'status')).toBe('failed');
    const reason = String(field(execution, 'errorMessage'));
    console.info(`rendered-size failure recorded: ${reason}`);
    expect(reason).toContain('MAX_RENDERED_CONFIG_BYTES');
    expect(reason).toContain(String(MAX_RENDERED_CONFIG_BYTES));
    expect(sink.forPath(path)).toHaveLength(0);

    const run = await closedRun(`run:${workflow.id}:webhook:big-1`);
    expect(run.status).toBe('FAILED');
    expect(run.messages).toContain('MAX_RENDERED_CONFIG_BYTES');
    expect(run.types).toContain('LimitExceeded');
    expect(run.nonRetryable).toBe(true);

    // The worker is still healthy and serves the next small run of the same workflow.
    expect((await http('GET', system.url('worker', '/healthz'))).status).toBe(200);
    const small = await http('POST', workflow.hookUrl, {
      body: { big: 'small' },
      headers: { 'webhook-id': 'small-1' },
    });
    expect(small.status).toBe(202);
    await waitFor('the small run at the sink', async () =>
      sink.forPath(path).length > 0 ? true : undefined,
    );
    expect(field(sink.forPath(path)[0], 'body')).toEqual(Array.from({ length: 300 }, () => 'small'));
  });
});

describe('trigger data', () => {
  it('answers 413 before the 202 to a webhook whose trigger data would exceed the limit', async () => {
    const path = '/trigger-budget';
    const workflow = await webhookToHttp(`${sink.baseUrl}${path}`, { text: '{{trigger.body}}' });
    // Under the 1 MiB raw body limit, but each quote is escaped in the run's JSON: 2 MiB of trigger data,
    // more than Temporal takes.
    const quotes = '"'.repeat(1024 * 1024 - 1024);
    const answer = await http('POST', workflow.hookUrl, {
      rawBody: quotes,
      headers: { 'content-type': 'text/plain', 'webhook-id': 'quotes-1' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(413);
    expect(answer.contentType).toContain('application/problem+json');
    expect(field(answer.body, 'code')).toBe('trigger_data_too_large');
    expect(String(field(answer.body, 'detail'))).toContain(String(MAX_TRIGGER_DATA_BYTES));

    // Headers count too: a body just under the raw limit plus large headers.
    const justUnder = JSON.stringify({ pad: 'y'.repeat(1024 * 1024 - 64) });
    const withHeaders = await http('POST', workflow.hookUrl, {
      rawBody: justUnder,
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'headers-1',
        'x-padding': 'z'.repeat(8 * 1024),
      },
    });
    expect(withHeaders.status, JSON.stringify(withHeaders.body)).toBe(413);

    // Nothing was handed to Temporal, nothing was recorded.
    expect(await system.executions(token, workflow.id)).toHaveLength(0);
    const accepted = await http('POST', workflow.hookUrl, {
      body: { ok: true },
      headers: { 'webhook-id': 'fine-1' },
    });
    expect(accepted.status).toBe(202);
    await waitFor('the small event at the sink', async () =>
      sink.forPath(path).length > 0 ? true : undefined,
    );
  });
});

describe('a workflow deleted while its run is in flight', () => {
  it('ends the run, failed, saying why, and a worker restart does not bring it back', async () => {
    const workflow = await webhookToHttp(`${sink.baseUrl}/slow?ms=3000`, { n: '{{trigger.body.n}}' });
    const runId = `run:${workflow.id}:webhook:slow-1`;
    const answer = await http('POST', workflow.hookUrl, {
      body: { n: 1 },
      headers: { 'webhook-id': 'slow-1' },
    });
    expect(answer.status).toBe(202);
    await waitFor('the slow request at the sink', async () =>
      sink.forPath('/slow').some((request) => field(request.body, 'n') === 1) ? true : undefined,
    );
    const deleted = await system
      .client(token)
      .DELETE('/api/workflows/{id}', { params: { path: { id: workflow.id } } });
    expect(deleted.response.status).toBe(204);

    const run = await closedRun(runId);
    console.info(`deleted mid-action: ${run.status}: ${run.messages}`);
    expect(run.status).toBe('FAILED');
    expect(run.messages).toMatch(/workflow .*deleted/i);
    expect(run.types).toContain('WorkflowDeleted');

    await restartWorker();
    const again = await temporal.workflow.getHandle(runId).describe();
    expect(again.status.name).toBe('FAILED');
  });

  it('ends a run that starts after its workflow was deleted (the worker was down), instead of retrying for ever', async () => {
    const workflow = await webhookToHttp(`${sink.baseUrl}/ok`, { n: '{{trigger.body.n}}' });
    const runId = `run:${workflow.id}:webhook:late-1`;
    await system.apps.get('worker')?.stop('SIGTERM');
    const answer = await http('POST', workflow.hookUrl, {
      body: { n: 2 },
      headers: { 'webhook-id': 'late-1' },
    });
    expect(answer.status).toBe(202);
    const deleted = await system
      .client(token)
      .DELETE('/api/workflows/{id}', { params: { path: { id: workflow.id } } });
    expect(deleted.response.status).toBe(204);
    await system.startApp('worker');

    const run = await closedRun(runId, 30_000);
    console.info(`deleted before the run started: ${run.status}: ${run.messages}`);
    expect(run.status).toBe('FAILED');
    expect(run.messages).toMatch(/workflow .*deleted/i);
    expect(run.types).toContain('WorkflowDeleted');
    // The database's error (which quotes the query and the trigger data) stays out of Temporal.
    expect(run.messages).not.toContain('insert into');
  });
});

async function restartWorker(): Promise<void> {
  await system.apps.get('worker')?.stop('SIGTERM');
  await system.startApp('worker');
}
