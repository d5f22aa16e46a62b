import { Sink } from '@autoflow/fakes';
import { parseExposition, type Sample, sumOf } from '@autoflow/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System, type WorkflowBody, waitFor } from '../src/system.js';

// trigger-ingest serves the workflow a hook routes to from memory (@autoflow/workflow-cache), and Postgres
// NOTIFYs every change of the row. The notification is asynchronous: a change is polled for (bounded), and
// then must hold for every later request. trigger-ingest's /metrics counts where each lookup was answered.

const LOOKUPS = 'autoflow_webhook_workflow_lookups_total';
const sink = new Sink();
let system: System;
let token: string;
let workflowId: number;
let hookUrl: string;
let events = 0;
/** Runs started: events answered 202 (each has its own delivery id). */
let accepted = 0;

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
  ({ token } = await system.signUp());
  const created = await system.createWorkflow(token, toSink('/v1'));
  workflowId = created.id;
  hookUrl = String(created.webhook?.url);
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
});

function toSink(path: string): WorkflowBody {
  return {
    name: 'cached hook',
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url: `${sink.baseUrl}${path}`, body: { n: '{{trigger.body.n}}' } },
    },
  };
}

const byId = () => ({ params: { path: { id: workflowId } } });

/** One event with a fresh delivery id (each starts its own run); answers the status. */
async function fire(): Promise<number> {
  events++;
  const answer = await http('POST', hookUrl, {
    body: { n: events },
    headers: { 'webhook-id': `e-${events}` },
  });
  if (answer.status === 202) accepted++;
  return answer.status;
}

/** Fires until the hook answers `status` (the change's notification arrived), then `times` more that must too. */
async function answersFromNowOn(status: number, times = 10): Promise<void> {
  let before = 0;
  await waitFor(
    `the hook to answer ${status}`,
    async () => {
      if ((await fire()) === status) return true;
      before++;
      return undefined;
    },
    5_000,
    5,
  );
  // How many requests after the API's answer still saw the row before the change (the notification's window).
  console.info(`answers ${status}; requests answered the old way after the API's answer: ${before}`);
  const later: number[] = [];
  for (let index = 0; index < times; index++) later.push(await fire());
  expect(later).toEqual(Array.from({ length: times }, () => status));
}

async function lookups(): Promise<Sample[]> {
  const answer = await fetch(system.url('trigger-ingest', '/metrics'));
  return parseExposition(await answer.text());
}

function moved(before: Sample[], after: Sample[], result: string): number {
  return sumOf(after, LOOKUPS, { result }) - sumOf(before, LOOKUPS, { result });
}

/** Every run started so far has finished (its execution row is written by the worker, after the 202). */
async function allFinished(): Promise<void> {
  await waitFor(`${accepted} finished runs`, async () => {
    const executions = await system.executions(token, workflowId);
    const finished = executions.filter((execution) => field(execution, 'status') !== 'running');
    return finished.length >= accepted ? true : undefined;
  });
}

describe('the workflow of a hook, from memory', () => {
  it('reads the row once, then answers repeated webhooks without Postgres', async () => {
    // Inactive until activated: the row is read (and kept), and the activation's notification replaces it.
    expect(await fire()).toBe(404);
    expect((await system.client(token).POST('/api/workflows/{id}/activate', byId())).response.status).toBe(
      200,
    );
    await answersFromNowOn(202, 1);

    const before = await lookups();
    for (let index = 0; index < 20; index++) expect(await fire()).toBe(202);
    const after = await lookups();
    const hits = moved(before, after, 'hit');
    const reads = moved(before, after, 'miss') + moved(before, after, 'bypass');
    console.info(`20 webhooks to a warm hook: ${hits} lookups from memory, ${reads} Postgres reads`);
    expect(hits).toBe(20);
    expect(reads).toBe(0);
    expect(sumOf(after, LOOKUPS, { result: 'miss' })).toBeGreaterThan(0);
  });

  it('answers 404 once a deactivation is notified, and for every request after it; 202 again once reactivated', async () => {
    const client = system.client(token);
    const before = await lookups();
    expect((await client.POST('/api/workflows/{id}/deactivate', byId())).response.status).toBe(200);
    await answersFromNowOn(404);
    expect((await client.POST('/api/workflows/{id}/activate', byId())).response.status).toBe(200);
    await answersFromNowOn(202);
    const after = await lookups();
    // Each change is read once or a few times (a request may land between commit and notification), not per request.
    const reads = moved(before, after, 'miss') + moved(before, after, 'bypass');
    console.info(
      `deactivate and reactivate, ~22 webhooks: ${moved(before, after, 'hit')} hits, ${reads} reads`,
    );
    expect(reads).toBeLessThanOrEqual(6);
  });

  it('starts the next runs with an edited action config', async () => {
    const edited = await system.client(token).PATCH('/api/workflows/{id}', {
      ...byId(),
      body: { action: toSink('/v2').action },
    });
    expect(edited.response.status).toBe(200);
    // Fires one event at a time until a run reaches the new URL.
    await waitFor(
      'a run with the edited config',
      async () => {
        expect(await fire()).toBe(202);
        await allFinished();
        return sink.forPath('/v2').length > 0 ? true : undefined;
      },
      10_000,
      5,
    );
    const oldUrlCalls = sink.forPath('/v1').length;
    for (let index = 0; index < 5; index++) expect(await fire()).toBe(202);
    await allFinished();
    expect(sink.forPath('/v1')).toHaveLength(oldUrlCalls);
    expect(sink.forPath('/v2').length).toBeGreaterThanOrEqual(6);
  });

  it('answers 404 for the hook of a deleted workflow, for good', async () => {
    expect((await system.client(token).DELETE('/api/workflows/{id}', byId())).response.status).toBe(204);
    await waitFor(
      'the hook to answer 404',
      async () => ((await http('POST', hookUrl, { body: {} })).status === 404 ? true : undefined),
      5_000,
      5,
    );
    for (let index = 0; index < 10; index++) {
      const answer = await http('POST', hookUrl, { body: {} });
      expect(answer.status).toBe(404);
      expect(field(answer.body, 'code')).toBe('not_found');
    }
  });
});
