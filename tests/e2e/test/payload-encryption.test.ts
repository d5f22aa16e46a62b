import { randomBytes } from 'node:crypto';
import { FakeGmail, FakeOAuthServer, FakePubSubPush, Sink } from '@autoflow/fakes';
import { EncryptionCodec, isEncrypted } from '@autoflow/temporal-codec';
import { gmailMailboxWorkflowId, TASK_QUEUES, WORKFLOW_TYPES } from '@autoflow/workflow-contracts';
import { Client, Connection, type Payload } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, listOf, System, type WorkflowBody, waitFor } from '../src/system.js';

// Issue 12, part 3: nothing readable in Temporal's history. Payloads are AES-256-GCM sealed by every
// client and worker; the raw history, read with the Temporal CLI (no codec), shows none of a run's
// secrets; the codec endpoint opens a run's payloads for its owner only; and a run started by someone
// who reaches Temporal without the key is refused by the worker before any action runs.

const UI_ORIGIN = 'http://temporal-ui.test';
const AUDIENCE = 'https://ingest.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@autoflow-test.iam.gserviceaccount.com';
const marker = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;
const secrets = {
  webhookBody: marker('webhookbody'),
  configValue: marker('cfgvalue'),
  subject: marker('mailsubject'),
  body: marker('mailbody'),
  address: `${marker('sender')}@example.com`,
};

const google = new FakeOAuthServer();
const gmail = new FakeGmail();
const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
const sink = new Sink();
let system: System;
let owner: { token: string; userId: number };
let stranger: { token: string; userId: number };
let connection: Connection;

beforeAll(async () => {
  await Promise.all([google.start(), gmail.start(), pubsub.start(), sink.start()]);
  system = new System({
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv('http://frontend.test'),
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/autoflow-test/topics/gmail-push',
      PUBSUB_PUSH_AUDIENCE: AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
      TEMPORAL_UI_ORIGIN: UI_ORIGIN,
    },
  });
  await system.start();
  owner = await system.signUp();
  stranger = await system.signUp();
  connection = await Connection.connect({ address: system.launched.env.TEMPORAL_ADDRESS });
});

afterAll(async () => {
  await connection?.close();
  await system?.stop();
  await Promise.all([google.stop(), gmail.stop(), pubsub.stop(), sink.stop()]);
});

function activeWorkflow(body: Omit<WorkflowBody, 'name'>): Promise<{ id: number; hookUrl: string }> {
  return system.createActiveWorkflow(owner.token, { name: 'enc', ...body });
}

async function completedExecution(workflowId: number): Promise<unknown> {
  return waitFor(`a completed run of workflow ${workflowId}`, async () => {
    const executions = await system.executions(owner.token, workflowId);
    return executions.find((execution) => field(execution, 'status') === 'completed');
  });
}

/** The history text plus every base64 string in it decoded, so a plaintext cannot hide in base64. */
function readableForms(history: string): string {
  const forms = [history];
  for (const match of history.matchAll(/"([A-Za-z0-9+/_-]{8,}={0,2})"/g)) {
    forms.push(Buffer.from(match[1] ?? '', 'base64').toString('latin1'));
  }
  return forms.join('\n');
}

function expectNoSecrets(history: string, values: string[]) {
  expect(history.length).toBeGreaterThan(100);
  const readable = readableForms(history);
  for (const value of values)
    expect(readable, `"${value}" is readable in Temporal's history`).not.toContain(value);
}

/** Every payload object (`{metadata, data}`) in a CLI history. */
function payloadsIn(history: string): Array<{ metadata: Record<string, string>; data: string }> {
  const found: Array<{ metadata: Record<string, string>; data: string }> = [];
  const walk = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    const metadata = field(value, 'metadata');
    const data = field(value, 'data');
    if (typeof metadata === 'object' && metadata !== null && typeof data === 'string') {
      found.push({
        metadata: Object.fromEntries(Object.entries(metadata).map(([key, text]) => [key, String(text)])),
        data,
      });
      return;
    }
    for (const item of Object.values(value)) walk(item);
  };
  walk(JSON.parse(history));
  return found;
}

function toPayload(json: { metadata: Record<string, string>; data: string }): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(json.metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(json.data, 'base64'),
  };
}

function startInputOf(history: string): unknown {
  return field(JSON.parse(history), 'events', 0, 'workflowExecutionStartedEventAttributes', 'input');
}

let webhookRun: { workflowId: number; temporalId: string; history: string };

describe('the raw history (Temporal CLI, no codec)', () => {
  it("of a webhook run holds no webhook body or config value, and the run's result is still recorded", async () => {
    const workflow = await activeWorkflow({
      trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: {
          method: 'POST',
          url: `${sink.baseUrl}/webhook`,
          headers: { 'x-api-key': secrets.configValue },
          body: { echo: '{{trigger.body.name}}' },
        },
      },
    });
    const answer = await http('POST', workflow.hookUrl, {
      body: { name: secrets.webhookBody },
      headers: { 'webhook-id': 'evt-encrypted' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const execution = await completedExecution(workflow.id);
    // The apps themselves still read everything: the sink got the rendered body and the header.
    expect(JSON.stringify(sink.forPath('/webhook').at(-1)?.body)).toContain(secrets.webhookBody);
    expect(field(execution, 'triggerData', 'body', 'name')).toBe(secrets.webhookBody);

    const temporalId = String(field(execution, 'temporalWorkflowId'));
    const history = await system.rawHistory(temporalId);
    webhookRun = { workflowId: workflow.id, temporalId, history };
    expectNoSecrets(history, [secrets.webhookBody, secrets.configValue, 'x-api-key', sink.baseUrl]);
  });

  it('of a Gmail-triggered run and of its mailbox holds no subject, body or address', async () => {
    const mailbox = `${marker('box')}@gmail.test`;
    gmail.addMailbox(mailbox);
    const accessToken = `ya29.${randomBytes(16).toString('hex')}`;
    gmail.grant(accessToken, mailbox);
    const credentialId = await system.insertConnectedCredential(owner.userId, 'gmail', accessToken);
    const workflow = await activeWorkflow({
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: {},
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: {
          url: `${sink.baseUrl}/mail`,
          body: { subject: '{{trigger.subject}}', from: '{{trigger.from}}', text: '{{trigger.textBody}}' },
        },
      },
    });
    await waitFor('the watch', async () =>
      gmail.watchCalls.some((call) => call.address === mailbox) ? true : undefined,
    );
    await waitFor('the listener record', async () => {
      const rows = await system.sql`select 1 from trigger_listeners where account = ${mailbox}`;
      return rows.length > 0 ? true : undefined;
    });
    const mail = gmail.deliver(mailbox, {
      from: secrets.address,
      to: mailbox,
      subject: secrets.subject,
      text: secrets.body,
    });
    expect(
      (
        await pubsub.push(system.url('trigger-ingest', '/pubsub/gmail'), {
          emailAddress: mailbox,
          historyId: mail.historyId,
        })
      ).status,
    ).toBe(204);
    const execution = await completedExecution(workflow.id);
    expect(JSON.stringify(sink.forPath('/mail').at(-1)?.body)).toContain(secrets.body);

    const values = [secrets.subject, secrets.body, secrets.address, mailbox];
    expectNoSecrets(await system.rawHistory(String(field(execution, 'temporalWorkflowId'))), values);
    expectNoSecrets(await system.rawHistory(gmailMailboxWorkflowId(credentialId)), values);
  });
});

/** Payloads sealed for `token`'s user by the codec endpoint: its payloads, or the problem. */
async function encode(token: string, body: { payloads: ReturnType<typeof payloadsIn> }) {
  const { data, error, response } = await system.client(token).POST('/codec/encode', { body });
  return { status: response.status, body: data ?? error };
}

describe('the codec endpoint (Temporal UI codec server)', () => {
  /** The codec's answer: its payloads, or the problem. */
  const decode = async (token: string | undefined, payloads: ReturnType<typeof payloadsIn>) => {
    const { data, error, response } = await system.client(token).POST('/codec/decode', {
      body: { payloads },
      headers: { 'x-namespace': system.launched.namespace },
    });
    return { status: response.status, body: data ?? error };
  };

  it("decodes a run's payloads for its owner and refuses anyone else", async () => {
    const payloads = payloadsIn(webhookRun.history);
    expect(payloads.length).toBeGreaterThan(1);

    const mine = await decode(owner.token, payloads);
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
    const decoded = listOf(mine.body, 'payloads');
    const text = decoded
      .map((payload) => Buffer.from(String(field(payload, 'data')), 'base64').toString())
      .join('\n');
    expect(text).toContain(secrets.webhookBody);
    expect(text).toContain(secrets.configValue);

    const theirs = await decode(stranger.token, payloads);
    expect(theirs.status).toBe(403);
    expect(field(theirs.body, 'code')).toBe('codec_forbidden');
    expect(JSON.stringify(theirs.body)).not.toContain(secrets.webhookBody);
    expect((await decode(undefined, payloads)).status).toBe(401);
  });

  it('answers CORS for the configured Temporal UI origin only', async () => {
    const preflight = await fetch(system.url('api-gateway', '/codec/decode'), {
      method: 'OPTIONS',
      headers: {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await fetch(system.url('api-gateway', '/codec/decode'), {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('encodes payloads bound to the caller', async () => {
    const encoded = await encode(stranger.token, {
      payloads: [
        {
          metadata: { encoding: Buffer.from('json/plain').toString('base64') },
          data: Buffer.from('{}').toString('base64'),
        },
      ],
    });
    expect(encoded.status).toBe(200);
    const [sealed] = listOf(encoded.body, 'payloads');
    expect(Buffer.from(String(field(sealed, 'metadata', 'autoflow-owner')), 'base64').toString()).toBe(
      String(stranger.userId),
    );
  });
});

describe('a run started without the key', () => {
  /** A real run's input, opened with the key, pointed at another sink path. */
  async function forgedInput(path: string): Promise<Record<string, unknown>> {
    const [input] = payloadsIn(JSON.stringify(startInputOf(webhookRun.history)));
    if (!input) throw new Error('the webhook run has no input payload');
    // (Before payloads were encrypted, the input was readable as it is.)
    const [opened] = isEncrypted(toPayload(input))
      ? await new EncryptionCodec(system.keyring()).decode([toPayload(input)])
      : [toPayload(input)];
    const runInput = JSON.parse(Buffer.from(opened?.data ?? new Uint8Array()).toString());
    expect(runInput.userId).toBe(owner.userId);
    runInput.action.config.url = `${sink.baseUrl}${path}`;
    return runInput;
  }

  /** The worker failed the run's workflow task for `reason`, nothing reached the sink, nothing was recorded. */
  async function expectRefused(forgedId: string, reason: string, path: string): Promise<void> {
    const history = await waitFor(
      'the refused workflow task',
      async () => {
        const text = await system.rawHistory(forgedId);
        return /WORKFLOW_TASK_FAILED|WorkflowTaskFailed/.test(text) ? text : undefined;
      },
      30_000,
      500,
    );
    // The failure's message is itself encrypted (encodeCommonAttributes); the key opens it.
    const failure = payloadsIn(history).at(-1);
    if (!failure) throw new Error('the failed workflow task has no encoded failure');
    const [opened] = await new EncryptionCodec(system.keyring()).decode([toPayload(failure)]);
    expect(Buffer.from(opened?.data ?? new Uint8Array()).toString()).toContain(reason);
    // Give a wrongly accepted run time to reach the sink, then check nothing did.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(sink.forPath(path)).toHaveLength(0);
    const recorded =
      await system.sql`select 1 from workflow_executions where temporal_workflow_id = ${forgedId}`;
    expect(recorded).toHaveLength(0);
    await new Client({ connection, namespace: system.launched.namespace }).workflow
      .getHandle(forgedId)
      .terminate('test: refused input');
  }

  it('is refused by the worker: its workflow task fails and no action runs', async () => {
    // Started in plain JSON by a client without the codec: what someone who reaches Temporal but has
    // no key can do.
    const raw = new Client({ connection, namespace: system.launched.namespace });
    const forgedId = `run:${webhookRun.workflowId}:manual:forged`;
    await raw.workflow.start(WORKFLOW_TYPES.automation, {
      taskQueue: TASK_QUEUES.automation,
      workflowId: forgedId,
      args: [await forgedInput('/forged')],
    });
    await expectRefused(forgedId, 'refusing a payload that is not encrypted', '/forged');
  });

  it("sealed by another user through the codec endpoint, is refused in the owner's run", async () => {
    const runInput = await forgedInput('/forged-by-stranger');
    const encoded = await encode(stranger.token, {
      payloads: [
        {
          metadata: { encoding: Buffer.from('json/plain').toString('base64') },
          data: Buffer.from(JSON.stringify(runInput)).toString('base64'),
        },
      ],
    });
    expect(encoded.status).toBe(200);
    const [sealed] = payloadsIn(JSON.stringify(encoded.body));
    if (!sealed) throw new Error('the codec endpoint returned no payload');
    const forgedId = `run:${webhookRun.workflowId}:manual:forged-by-stranger`;
    await connection.workflowService.startWorkflowExecution({
      namespace: system.launched.namespace,
      workflowId: forgedId,
      workflowType: { name: WORKFLOW_TYPES.automation },
      taskQueue: { name: TASK_QUEUES.automation },
      input: { payloads: [toPayload(sealed)] },
      requestId: randomBytes(16).toString('hex'),
    });
    await expectRefused(forgedId, 'refusing a payload of another user', '/forged-by-stranger');
  });
});
