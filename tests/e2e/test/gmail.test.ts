import { randomBytes } from 'node:crypto';
import { FakeGmail, FakeOAuthServer, FakePubSubPush, Sink } from '@autoflow/fakes';
import { freePort, spawnApp, waitUntilReady } from '@autoflow/local-stack';
import { gmailMailboxWorkflowId } from '@autoflow/workflow-contracts';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { field, System, type WorkflowBody, waitFor } from '../src/system.js';

// Gmail end to end, four apps as processes: Google's OAuth, the Gmail API and Pub/Sub push delivery
// are local fakes speaking their wire formats; Postgres and Temporal are real.

const FRONTEND = 'http://frontend.test';
const AUDIENCE = 'https://ingest.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@autoflow-test.iam.gserviceaccount.com';
/** Short, so that the renewal test sees a renewal; the other tests ignore watch calls. */
const RENEWAL_MS = 4_000;
const TRIGGER_METHODS = ['history.list', 'messages.get', 'messages.list', 'getProfile'] as const;

const google = new FakeOAuthServer();
const gmail = new FakeGmail();
const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
const sink = new Sink();
let system: System;
let temporal: Client;
let connection: Connection;
let token: string;
let userId: number;
/** Access tokens handed to the fake Gmail; none may appear in a log line. */
const grantedTokens: string[] = [];

beforeAll(async () => {
  await Promise.all([google.start(), gmail.start(), pubsub.start(), sink.start()]);
  gmail.addMailbox(google.account);
  gmail.tokenOwner = (accessToken) => (google.isAccessToken(accessToken) ? google.account : undefined);
  system = new System({
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv(FRONTEND),
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/autoflow-test/topics/gmail-push',
      GMAIL_WATCH_RENEWAL_INTERVAL_MS: String(RENEWAL_MS),
      PUBSUB_PUSH_AUDIENCE: AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
    },
  });
  await system.start();
  ({ token, userId } = await system.signUp());
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
  await Promise.all([google.stop(), gmail.stop(), pubsub.stop(), sink.stop()]);
});

const pushUrl = () => system.url('trigger-ingest', '/pubsub/gmail');

/** Connects the fake Google account through oauth-service, as a browser would. */
function connectGmailThroughOAuth(): Promise<number> {
  return system.connectThroughOAuth({ token, provider: 'gmail', redirectUrl: `${FRONTEND}/done` });
}

/** A mailbox of its own, connected by inserting its credential (the OAuth flow is tested above and in oauth.test). */
async function connectedMailbox(firstHistoryId?: bigint): Promise<{ address: string; credentialId: number }> {
  const address = `box-${randomBytes(4).toString('hex')}@gmail.test`;
  gmail.addMailbox(address, firstHistoryId === undefined ? {} : { firstHistoryId });
  const accessToken = `ya29.${randomBytes(16).toString('hex')}`;
  gmail.grant(accessToken, address);
  grantedTokens.push(accessToken);
  return { address, credentialId: await system.insertConnectedCredential(userId, 'gmail', accessToken) };
}

async function createWorkflow(body: Omit<WorkflowBody, 'name'> & { name?: string }): Promise<number> {
  return (await system.createWorkflow(token, { name: 'gmail', ...body })).id;
}

async function setActive(workflowId: number, active: boolean): Promise<void> {
  const client = system.client(token);
  const byId = { params: { path: { id: workflowId } } };
  const answer = active
    ? await client.POST('/api/workflows/{id}/activate', byId)
    : await client.POST('/api/workflows/{id}/deactivate', byId);
  expect(answer.response.status, JSON.stringify(answer.error)).toBe(200);
}

/** A workflow that posts every matching mail's id to the sink: one request per run. */
async function mailToSinkWorkflow(
  credentialId: number,
  config: Record<string, string> = {},
): Promise<number> {
  const workflowId = await createWorkflow({
    trigger: { serviceProvider: 'gmail', triggerId: 'receive-email', config, credentialsId: credentialId },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { url: `${sink.baseUrl}/ok`, body: { mail: '{{trigger.id}}', subject: '{{trigger.subject}}' } },
    },
  });
  await setActive(workflowId, true);
  return workflowId;
}

async function watching(address: string): Promise<void> {
  await waitFor('the watch', async () =>
    gmail.watchCalls.some((call) => call.address === address) ? true : undefined,
  );
  // The push route finds the mailbox by its address once the listener recorded it.
  await waitFor('the listener record', async () => {
    const rows = await system.sql`select 1 from trigger_listeners where account = ${address}`;
    return rows.length > 0 ? true : undefined;
  });
}

async function push(address: string, historyId: bigint, historyIdAs: 'number' | 'string' = 'number') {
  const answer = await pubsub.push(pushUrl(), { emailAddress: address, historyId }, { historyIdAs });
  expect(answer.status, answer.body).toBe(204);
}

function sinkMails(): string[] {
  return sink.forPath('/ok').map((request) => String(field(request.body, 'mail')));
}

async function completedExecutions(workflowId: number, count: number): Promise<unknown[]> {
  return waitFor(`${count} completed executions`, async () => {
    const executions = await system.executions(token, workflowId);
    const completed = executions.filter((execution) => field(execution, 'status') === 'completed');
    return completed.length >= count ? executions : undefined;
  });
}

function triggerUnits(address: string): number {
  return gmail.calls
    .filter((call) => call.address === address && TRIGGER_METHODS.some((method) => method === call.method))
    .reduce((sum, call) => sum + call.units, 0);
}

async function settle(ms = 1_500): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('the seed example: forward the boss’s mail', () => {
  it('sends exactly one forward per mail from the boss, pushed, never polled', async () => {
    const credentialId = await connectGmailThroughOAuth();
    const workflowId = await createWorkflow({
      name: 'forward boss mail',
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: { from: 'boss@company.com' },
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: {
          to: 'personal@gmail.com',
          subject: 'Fwd: {{trigger.subject}}',
          body: 'From {{trigger.from}}:\n\n{{trigger.textBody}}',
        },
        credentialsId: credentialId,
      },
    });
    await setActive(workflowId, true);
    await watching(google.account);
    const unitsBefore = triggerUnits(google.account);

    const expected = new Map<string, string>();
    for (let index = 0; index < 30; index++) {
      const fromBoss = index % 3 === 0;
      const subject = `Report ${index}`;
      const text = `Numbers for week ${index}.`;
      const mail = gmail.deliver(google.account, {
        from: fromBoss ? 'The Boss <boss@company.com>' : `Colleague ${index} <colleague${index}@company.com>`,
        to: google.account,
        subject,
        text,
      });
      if (fromBoss) expected.set(`Fwd: ${subject}`, text);
      await push(google.account, mail.historyId);
    }

    const executions = await completedExecutions(workflowId, 10);
    const forwards = await waitFor('10 forwards', async () => {
      const sent = gmail.sent.filter((mail) => mail.to.includes('personal@gmail.com'));
      return sent.length >= 10 ? sent : undefined;
    });
    await settle();
    const trigger = triggerUnits(google.account) - unitsBefore;
    expect(gmail.sent.filter((mail) => mail.to.includes('personal@gmail.com'))).toHaveLength(10);
    expect(await system.executions(token, workflowId)).toHaveLength(10);
    expect(executions.every((execution) => field(execution, 'status') === 'completed')).toBe(true);
    expect(new Set(forwards.map((mail) => mail.subject))).toEqual(new Set(expected.keys()));
    for (const mail of forwards) {
      expect(mail.text).toContain('From The Boss <boss@company.com>:');
      expect(mail.text).toContain(expected.get(mail.subject));
      expect(mail.messageId).toMatch(/^<[0-9a-f]{32}@autoflow\.run>$/);
    }
    // Quota: the trigger's Gmail calls per delivered mail (history.list 2 + messages.get 5 at most).
    console.info(
      `gmail trigger quota: ${trigger} units for 30 mails = ${(trigger / 30).toFixed(2)} per mail`,
    );
    expect(trigger / 30).toBeLessThanOrEqual(7);

    // Push healthy and no mail: nothing reads the mailbox, only the watch is renewed.
    const readsBefore = TRIGGER_METHODS.map((method) => gmail.callCount(method, google.account));
    const watchesBefore = gmail.watchCalls.filter((call) => call.address === google.account).length;
    await settle(RENEWAL_MS * 2 + 1_000);
    expect(TRIGGER_METHODS.map((method) => gmail.callCount(method, google.account))).toEqual(readsBefore);
    expect(gmail.watchCalls.filter((call) => call.address === google.account).length).toBeGreaterThan(
      watchesBefore,
    );
    await setActive(workflowId, false);
  });
});

describe('exactly one run per mail', () => {
  it('survives duplicated, out-of-order, batched pushes and historyIds above 2^53', async () => {
    const { address, credentialId } = await connectedMailbox(2n ** 53n + 10n);
    const workflowId = await mailToSinkWorkflow(credentialId);
    await watching(address);
    const before = sinkMails().length;

    // One push for five mails.
    const batch = Array.from({ length: 5 }, (_, index) =>
      gmail.deliver(address, { from: 'a@example.com', to: address, subject: `batch ${index}` }),
    );
    await push(address, batch.at(-1)?.historyId ?? 0n);
    await completedExecutions(workflowId, 5);

    // Four more, each pushed three times, shuffled, as numbers and as strings.
    const singles = Array.from({ length: 4 }, (_, index) =>
      gmail.deliver(address, { from: 'b@example.com', to: address, subject: `single ${index}` }),
    );
    const pushes = singles.flatMap((mail) => [mail.historyId, mail.historyId, mail.historyId]);
    pushes.sort(() => Math.random() - 0.5);
    await Promise.all(
      pushes.map((historyId, index) => push(address, historyId, index % 2 ? 'string' : 'number')),
    );
    await completedExecutions(workflowId, 9);
    await settle();

    const ids = [...batch, ...singles].map((mail) => mail.id);
    const posted = sinkMails().slice(before);
    expect(posted.sort()).toEqual([...ids].sort());
    expect(await system.executions(token, workflowId)).toHaveLength(9);
    expect(gmail.historyId(address)).toBeGreaterThan(2n ** 53n);
    await setActive(workflowId, false);
  });

  it('resyncs by date when the history cursor expired: none missed, none doubled', async () => {
    const { address, credentialId } = await connectedMailbox();
    const workflowId = await mailToSinkWorkflow(credentialId);
    await watching(address);
    const before = sinkMails().length;

    const early = [0, 1].map((index) =>
      gmail.deliver(address, { from: 'c@example.com', to: address, subject: `early ${index}` }),
    );
    await push(address, early[1]?.historyId ?? 0n);
    await completedExecutions(workflowId, 2);

    // Pushes lost while Gmail forgets the history after the cursor.
    const missed = [0, 1, 2].map((index) =>
      gmail.deliver(address, { from: 'c@example.com', to: address, subject: `missed ${index}` }),
    );
    gmail.expireHistoryBefore(address, gmail.historyId(address));
    const last = gmail.deliver(address, { from: 'c@example.com', to: address, subject: 'last' });
    await push(address, last.historyId);
    await completedExecutions(workflowId, 6);
    await settle();

    expect(gmail.callCount('messages.list', address)).toBeGreaterThan(0);
    const posted = sinkMails().slice(before);
    expect(posted.sort()).toEqual([...early, ...missed, last].map((mail) => mail.id).sort());
    expect(await system.executions(token, workflowId)).toHaveLength(6);
    await setActive(workflowId, false);
  });
});

describe('push authentication', () => {
  async function signalCount(credentialId: number): Promise<number> {
    const history = await temporal.workflow.getHandle(gmailMailboxWorkflowId(credentialId)).fetchHistory();
    return (history.events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes).length;
  }

  it('refuses forged, misaddressed, expired, foreign and unverified tokens, and acknowledges malformed bodies', async () => {
    const { address, credentialId } = await connectedMailbox();
    const workflowId = await mailToSinkWorkflow(credentialId);
    await watching(address);
    const mail = gmail.deliver(address, { from: 'd@example.com', to: address, subject: 'never pushed' });
    const notification = { emailAddress: address, historyId: mail.historyId };
    const signalsBefore = await signalCount(credentialId);

    const refused = [
      { forged: true },
      { audience: 'https://someone-else.test/push' },
      { expired: true },
      { email: 'intruder@evil.iam.gserviceaccount.com' },
      { emailVerified: false },
      { issuer: 'https://evil.test' },
    ];
    for (const overrides of refused) {
      const answer = await pubsub.push(pushUrl(), notification, { token: overrides });
      expect(answer.status, JSON.stringify(overrides)).toBe(401);
    }
    expect((await pubsub.push(pushUrl(), notification, { withoutToken: true })).status).toBe(401);

    for (const malformed of [
      'not json',
      '{"message":{}}',
      pubsub.envelope(notification).replace(/"data":"[^"]+"/, '"data":"%%%"'),
    ]) {
      expect((await pubsub.pushRaw(pushUrl(), malformed)).status).toBe(204);
    }
    // For a mailbox nobody watches: acknowledged, nothing to start.
    expect((await pubsub.push(pushUrl(), { emailAddress: 'nobody@gmail.test', historyId: 5n })).status).toBe(
      204,
    );

    await settle();
    expect(await signalCount(credentialId)).toBe(signalsBefore);
    expect(await system.executions(token, workflowId)).toHaveLength(0);
    await setActive(workflowId, false);
  });
});

describe('a Temporal that does not take the signal', () => {
  it('answers 503, so Pub/Sub redelivers, and the redelivery then runs the mail once', async () => {
    const { address, credentialId } = await connectedMailbox();
    const workflowId = await mailToSinkWorkflow(credentialId);
    await watching(address);
    // A second trigger-ingest whose namespace Temporal does not know: every signal is refused.
    const refused = spawnApp({
      name: 'trigger-ingest',
      port: await freePort(),
      env: { ...system.launched.env, TEMPORAL_NAMESPACE: 'no-such-namespace' },
      inheritedEnv: process.env,
    });
    try {
      await waitUntilReady(refused);
      const mail = gmail.deliver(address, { from: 'i@example.com', to: address, subject: 'redelivered' });
      const notification = { emailAddress: address, historyId: mail.historyId };
      const answer = await pubsub.push(`${refused.baseUrl}/pubsub/gmail`, notification);
      expect(answer.status).toBe(503);
      expect(answer.body).toContain('service_unavailable');
      await settle(1_000);
      expect(await system.executions(token, workflowId)).toHaveLength(0);

      await push(address, mail.historyId);
      const [execution] = await completedExecutions(workflowId, 1);
      expect(field(execution, 'triggerData', 'subject')).toBe('redelivered');
    } finally {
      await refused.stop();
    }
    await setActive(workflowId, false);
  });
});

describe('send-email', () => {
  it('sends once when the worker dies after Gmail accepted the mail', async () => {
    const { address, credentialId } = await connectedMailbox();
    const workflowId = await createWorkflow({
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: {},
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: {
          to: 'archive@example.com',
          subject: 'Copy: {{trigger.subject}}',
          body: '{{trigger.snippet}}',
        },
        credentialsId: credentialId,
      },
    });
    await setActive(workflowId, true);
    await watching(address);

    let killed = false;
    gmail.onSend = async () => {
      if (killed) return;
      killed = true;
      // Gmail has the mail; the worker dies before it can hear so.
      await system.apps.get('worker')?.stop('SIGKILL');
    };
    const mail = gmail.deliver(address, {
      from: 'e@example.com',
      to: address,
      subject: 'keep a copy',
      text: 'hi',
    });
    await push(address, mail.historyId);
    await waitFor('the kill', async () => (killed ? true : undefined));
    gmail.onSend = undefined;
    await system.startApp('worker');

    const [execution] = await completedExecutions(workflowId, 1);
    expect(field(execution, 'actionResult', 'alreadySent')).toBe(true);
    const copies = gmail.sent.filter((sent) => sent.to.includes('archive@example.com'));
    expect(copies).toHaveLength(1);
    expect(copies[0]?.subject).toBe('Copy: keep a copy');
    await setActive(workflowId, false);
  });
});

describe('the watch', () => {
  it('is started once per mailbox, renewed on schedule, and stopped with the last workflow', async () => {
    const { address, credentialId } = await connectedMailbox();
    const first = await mailToSinkWorkflow(credentialId, { subjectContains: 'invoice' });
    await watching(address);
    const second = await mailToSinkWorkflow(credentialId, { from: 'f@example.com' });
    await settle(1_000);
    const watches = () => gmail.watchCalls.filter((call) => call.address === address);
    expect(watches()).toHaveLength(1);

    await waitFor('a renewal', async () => (watches().length >= 2 ? true : undefined), RENEWAL_MS * 4);
    const [started, renewed] = watches();
    expect((renewed?.at ?? 0) - (started?.at ?? 0)).toBeGreaterThanOrEqual(RENEWAL_MS - 500);
    expect(started?.topicName).toBe('projects/autoflow-test/topics/gmail-push');

    await setActive(first, false);
    await settle(1_000);
    expect(gmail.stopCalls.filter((call) => call.address === address)).toHaveLength(0);

    await setActive(second, false);
    await waitFor('the stop', async () =>
      gmail.stopCalls.some((call) => call.address === address) ? true : undefined,
    );
    const handle = temporal.workflow.getHandle(gmailMailboxWorkflowId(credentialId));
    await handle.result();
    expect(gmail.stopCalls.filter((call) => call.address === address)).toHaveLength(1);
    expect(
      await system.sql`select 1 from trigger_listeners where credential_id = ${credentialId}`,
    ).toHaveLength(0);
  });
});

describe('the actions', () => {
  it('replies in the thread of the mail that triggered it', async () => {
    const { address, credentialId } = await connectedMailbox();
    const workflowId = await createWorkflow({
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: { subjectContains: 'question' },
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: {
          to: '{{trigger.from}}',
          subject: 'Re: {{trigger.subject}}',
          body: 'Got it.',
          htmlBody: '<p>Got it.</p>',
          threadId: '{{trigger.threadId}}',
          inReplyTo: '{{trigger.messageIdHeader}}',
        },
        credentialsId: credentialId,
      },
    });
    await setActive(workflowId, true);
    await watching(address);
    const mail = gmail.deliver(address, {
      from: 'Asker <asker@example.com>',
      to: address,
      subject: 'A question',
    });
    await push(address, mail.historyId);
    await completedExecutions(workflowId, 1);

    const reply = gmail.sent.find((sent) => sent.to.includes('asker@example.com'));
    expect(reply?.subject).toBe('Re: A question');
    expect(reply?.threadId).toBe(mail.threadId);
    expect(reply?.html).toContain('<p>Got it.</p>');
    const [execution] = await system.executions(token, workflowId);
    expect(reply?.inReplyTo).toBe(field(execution, 'triggerData', 'messageIdHeader'));
    await setActive(workflowId, false);
  });

  it('reads mails by search with their bodies and attachment metadata', async () => {
    const { address, credentialId } = await connectedMailbox();
    gmail.deliver(address, { from: 'g@example.com', to: address, subject: 'old', text: 'first' });
    gmail.deliver(address, {
      from: 'g@example.com',
      to: address,
      subject: 'new',
      text: 'second',
      html: '<b>second</b>',
      attachments: [{ filename: 'report.csv', mimeType: 'text/csv', content: 'a,b\n1,2\n' }],
    });
    gmail.deliver(address, { from: 'h@example.com', to: address, subject: 'other', text: 'not this' });
    const workflowId = await createWorkflow({
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'gmail',
        actionId: 'read-email',
        config: { query: 'from:g@example.com', maxResults: 5 },
        credentialsId: credentialId,
      },
    });
    await system.runWorkflow(token, workflowId);
    const [execution] = await completedExecutions(workflowId, 1);
    const emails = field(execution, 'actionResult', 'emails');
    expect(Array.isArray(emails) ? emails.map((email) => field(email, 'subject')) : []).toEqual([
      'new',
      'old',
    ]);
    expect(field(execution, 'actionResult', 'emails', 0, 'textBody')).toContain('second');
    expect(field(execution, 'actionResult', 'emails', 0, 'htmlBody')).toContain('<b>second</b>');
    expect(field(execution, 'actionResult', 'emails', 0, 'attachments', 0, 'filename')).toBe('report.csv');
  });

  it('refuses a Gmail trigger without its account, or with another provider’s', async () => {
    const client = system.client(token);
    const missing = await client.POST('/api/workflows', {
      body: {
        name: 'no account',
        trigger: { serviceProvider: 'gmail', triggerId: 'receive-email', config: {} },
        action: { serviceProvider: 'http', actionId: 'request', config: { url: `${sink.baseUrl}/ok` } },
      },
    });
    expect(missing.response.status).toBe(400);
    expect(JSON.stringify(missing.error?.issues)).toContain('credentialsId');
    const slackCredential = await system.insertConnectedCredential(userId, 'slack', 'xoxb-not-gmail');
    const foreign = await client.POST('/api/workflows', {
      body: {
        name: 'wrong account',
        trigger: {
          serviceProvider: 'gmail',
          triggerId: 'receive-email',
          config: {},
          credentialsId: slackCredential,
        },
        action: { serviceProvider: 'http', actionId: 'request', config: { url: `${sink.baseUrl}/ok` } },
      },
    });
    expect(foreign.response.status).toBe(400);
  });
});

it('keeps every token out of the logs', () => {
  const secrets = [...google.issuedSecrets, ...grantedTokens];
  expect(secrets.length).toBeGreaterThan(3);
  const leaks = system.logLines.filter((line) => secrets.some((secret) => line.includes(secret)));
  expect(leaks).toEqual([]);
});
