import { randomBytes } from 'node:crypto';
import { Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { System, waitFor } from '../src/system.js';

const sink = new Sink();
let system: System;
let token: string;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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

async function createActiveWorkflow(triggerProvider: string, triggerId: string) {
  const { id, hookUrl } = await system.createActiveWorkflow(token, {
    name: `${triggerProvider} to http`,
    trigger: { serviceProvider: triggerProvider, triggerId, config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url: `${sink.baseUrl}/ok`, body: { hello: 'world' } },
    },
  });
  return { id, hookUrl };
}

/** The parsed JSON log lines of one app that carry this request id anywhere. */
function linesWith(app: string, requestId: string): Record<string, unknown>[] {
  return system.logLines
    .filter((line) => line.startsWith(`${app} `) && line.includes(requestId))
    .flatMap((line) => {
      try {
        return [JSON.parse(line.slice(app.length + 1)) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Waits for the worker's activity log line of the run this request started; answers its workflow id. */
async function workerActivityLine(requestId: string) {
  return waitFor(`the worker's activity line for ${requestId}`, async () =>
    linesWith('worker', requestId).find((line) => line.requestId === requestId && 'activityType' in line),
  );
}

describe('request ids end to end', () => {
  it('follows a webhook request id from the answer to the run and its activity logs', async () => {
    const workflow = await createActiveWorkflow('webhook', 'receive');
    const requestId = `test-${randomBytes(6).toString('hex')}`;
    const answer = await fetch(workflow.hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ n: 1 }),
    });
    expect(answer.status).toBe(202);
    expect(answer.headers.get('x-request-id')).toBe(requestId);

    const activity = await workerActivityLine(requestId);
    const runId = String(activity.workflowId);
    expect(runId).toMatch(new RegExp(`^run:${workflow.id}:webhook:`));
    const ingest = linesWith('trigger-ingest', requestId);
    // Fastify's request line, and the line naming the run it started.
    expect(ingest.some((line) => line.reqId === requestId && line.msg === 'incoming request')).toBe(true);
    expect(ingest.some((line) => line.temporalWorkflowId === runId)).toBe(true);
    // The run itself (the workflow's log line) carries it too.
    expect(
      linesWith('worker', requestId).some((line) => line.workflowId === runId && !('activityType' in line)),
    ).toBe(true);

    // Without a header: a fresh UUID, returned and followed the same way.
    const unnamed = await fetch(workflow.hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 2 }),
    });
    expect(unnamed.status).toBe(202);
    const generated = unnamed.headers.get('x-request-id') ?? '';
    expect(generated).toMatch(UUID);
    await workerActivityLine(generated);
  });

  it('follows a manual run through api-gateway, and on problem+json answers too', async () => {
    const workflow = await createActiveWorkflow('manual', 'run');
    const requestId = `test-${randomBytes(6).toString('hex')}`;
    const answer = await system.client(token).POST('/api/workflows/{id}/run', {
      params: { path: { id: workflow.id } },
      headers: { 'x-request-id': requestId },
      body: { payload: { a: 1 } },
    });
    expect(answer.response.status).toBe(202);
    expect(answer.response.headers.get('x-request-id')).toBe(requestId);
    const activity = await workerActivityLine(requestId);
    expect(activity.workflowId).toBe(answer.data?.temporalWorkflowId);
    expect(linesWith('api-gateway', requestId).some((line) => line.reqId === requestId)).toBe(true);

    const problem = await system.client().GET('/api/me', { headers: { 'x-request-id': requestId } });
    expect(problem.response.status).toBe(401);
    expect(problem.response.headers.get('content-type')).toContain('application/problem+json');
    expect(problem.response.headers.get('x-request-id')).toBe(requestId);
  });

  it('replaces a malformed request id with a UUID and never echoes it', async () => {
    let reachedTheApp = 0;
    for (const malformed of ['x'.repeat(200), 'has\ttab', 'has space', 'ünïcode']) {
      const answer = await fetch(system.url('trigger-ingest', '/healthz'), {
        headers: { 'x-request-id': malformed },
      }).catch(() => undefined);
      // undici refuses some values itself (non-Latin-1); those never reach the app.
      if (!answer) continue;
      reachedTheApp++;
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-request-id')).toMatch(UUID);
      expect(system.logLines.some((line) => line.includes(malformed))).toBe(false);
    }
    expect(reachedTheApp).toBeGreaterThanOrEqual(3);
  });
});
