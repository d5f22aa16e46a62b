import { FakeGmail, FakeOAuthServer, FakePubSubPush, FakeSlack, Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, System, type WorkflowBody, waitFor } from '../src/system.js';

// Issue 12, part 2: the provider drops an access token before its stored expiry. A 401 to a token we
// believed valid causes one refresh under the credential's row lock and one retry; a refused refresh
// token then marks the credential needs_reconnect. Google's OAuth, the Gmail API, Pub/Sub push and an
// OAuth-protected HTTP target are local fakes; Postgres, Temporal and the four apps are real.

const FRONTEND = 'http://frontend.test';
const AUDIENCE = 'https://ingest.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@autoflow-test.iam.gserviceaccount.com';

const google = new FakeOAuthServer();
const gmail = new FakeGmail();
const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
const sink = new Sink();
const slack = new FakeSlack();
let system: System;
let token: string;
let userId: number;

beforeAll(async () => {
  await Promise.all([google.start(), gmail.start(), pubsub.start(), sink.start(), slack.start()]);
  gmail.addMailbox(google.account);
  // Both APIs honour exactly the access tokens the OAuth server still considers valid.
  gmail.tokenOwner = (accessToken) => (google.isAccessToken(accessToken) ? google.account : undefined);
  sink.acceptsBearer = (accessToken) => google.isAccessToken(accessToken);
  system = new System({
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv(FRONTEND),
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/autoflow-test/topics/gmail-push',
      PUBSUB_PUSH_AUDIENCE: AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
      SLACK_API_URL: slack.apiUrl,
      OAUTH_RATE_LIMIT_PER_MINUTE: '1000',
    },
  });
  await system.start();
  ({ token, userId } = await system.signUp());
});

afterAll(async () => {
  await system?.stop();
  await Promise.all([google.stop(), gmail.stop(), pubsub.stop(), sink.stop(), slack.stop()]);
});

/** Connects the fake Google account through oauth-service; answers the credential and the tokens it got. */
async function connect(): Promise<{ credentialId: number; accessToken: string; refreshToken: string }> {
  const credentialId = await system.connectThroughOAuth({
    token,
    provider: 'gmail',
    redirectUrl: `${FRONTEND}/done`,
  });
  const issued = google.issuedTokens.at(-1);
  if (!issued?.refreshToken) throw new Error('the fake issued no refresh token');
  return {
    credentialId,
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
  };
}

async function statusOf(credentialId: number): Promise<unknown> {
  const listed = await system.client(token).GET('/api/credentials');
  return listed.data?.items.find((item) => item.id === credentialId)?.status;
}

async function testCredential(credentialId: number): Promise<unknown> {
  const { data, response } = await system
    .client(token)
    .POST('/api/credentials/{id}/test', { params: { path: { id: credentialId } } });
  expect(response.status).toBe(200);
  return data;
}

async function createWorkflow(body: Omit<WorkflowBody, 'name'>): Promise<number> {
  return (await system.createWorkflow(token, { name: 'early', ...body })).id;
}

/** A manual workflow calling the OAuth-protected sink path with the credential's token. */
function protectedCallWorkflow(credentialId: number): Promise<number> {
  return createWorkflow({
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { url: `${sink.baseUrl}/protected`, sendCredentialTo: [sink.hostPort] },
      credentialsId: credentialId,
    },
  });
}

/** Starts `count` runs at once; answers every execution of the workflow once `total` have finished. */
async function runAll(workflowId: number, count: number, total = count): Promise<unknown[]> {
  const started = await Promise.all(
    Array.from({ length: count }, () =>
      system
        .client(token)
        .POST('/api/workflows/{id}/run', { params: { path: { id: workflowId } }, body: {} }),
    ),
  );
  for (const answer of started) expect(answer.response.status, JSON.stringify(answer.error)).toBe(202);
  return waitFor(`${total} finished runs`, async () => {
    const all = await system.executions(token, workflowId);
    return all.length === total && all.every((execution) => field(execution, 'status') !== 'running')
      ? all
      : undefined;
  });
}

describe('POST /api/credentials/:id/test after the provider invalidated the token', () => {
  it('refreshes once and answers ok (the issue’s reproduction)', async () => {
    const { credentialId, accessToken } = await connect();
    expect(await testCredential(credentialId)).toEqual({ ok: true, account: google.account });
    google.invalidateAccessToken(accessToken);
    const refreshesBefore = google.refreshCount;

    expect(await testCredential(credentialId)).toEqual({ ok: true, account: google.account });
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(await statusOf(credentialId)).toBe('valid');
    // The renewed token is stored: the next test needs no refresh.
    expect(await testCredential(credentialId)).toEqual({ ok: true, account: google.account });
    expect(google.refreshCount - refreshesBefore).toBe(1);
  });

  it('marks the credential needs_reconnect when the refresh token was revoked too', async () => {
    const { credentialId, accessToken, refreshToken } = await connect();
    google.invalidateAccessToken(accessToken);
    google.revokeRefreshToken(refreshToken);

    expect(await testCredential(credentialId)).toEqual({ ok: false, reason: 'credential_needs_reconnect' });
    expect(await statusOf(credentialId)).toBe('needs_reconnect');
  });
});

describe('runs after the provider invalidated the token', () => {
  it('20 concurrent runs after an early invalidation cause exactly one refresh', async () => {
    const { credentialId, accessToken } = await connect();
    const workflowId = await protectedCallWorkflow(credentialId);
    const [first] = await runAll(workflowId, 1);
    expect(field(first, 'status')).toBe('completed');
    google.invalidateAccessToken(accessToken);
    const refreshesBefore = google.refreshCount;

    const executions = await runAll(workflowId, 20, 21);
    expect(executions.map((execution) => field(execution, 'status'))).toEqual(Array(21).fill('completed'));
    expect(google.refreshCount - refreshesBefore).toBe(1);
    const accepted = sink
      .forPath('/protected')
      .filter((request) => request.authorization !== `Bearer ${accessToken}`);
    expect(accepted).toHaveLength(20);
    expect(new Set(accepted.map((request) => request.authorization)).size).toBe(1);
    expect(await statusOf(credentialId)).toBe('valid');
  });

  it('fails a run, non-retried, and marks needs_reconnect when the refresh token was revoked too', async () => {
    const { credentialId, accessToken, refreshToken } = await connect();
    const workflowId = await protectedCallWorkflow(credentialId);
    google.invalidateAccessToken(accessToken);
    google.revokeRefreshToken(refreshToken);
    const refreshesBefore = google.refreshCount;

    const [failed] = await runAll(workflowId, 1);
    expect(field(failed, 'status')).toBe('failed');
    expect(String(field(failed, 'errorMessage'))).toContain('invalid_grant');
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(await statusOf(credentialId)).toBe('needs_reconnect');
  });

  it('a Gmail action retries once with the refreshed token', async () => {
    const { credentialId, accessToken } = await connect();
    const workflowId = await createWorkflow({
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: { to: 'friend@example.com', subject: 'after invalidation', body: 'hello' },
        credentialsId: credentialId,
      },
    });
    google.invalidateAccessToken(accessToken);
    const refreshesBefore = google.refreshCount;

    const [run] = await runAll(workflowId, 1);
    expect(field(run, 'status'), JSON.stringify(run)).toBe('completed');
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(gmail.sent.filter((mail) => mail.subject === 'after invalidation')).toHaveLength(1);
  });
});

describe('Slack', () => {
  it('a bot token Slack answers invalid_auth for, with no refresh token, marks the credential needs_reconnect', async () => {
    const botToken = 'xoxb-early-invalidation';
    slack.validTokens.add(botToken);
    const credentialId = await system.insertConnectedCredential(userId, 'slack', botToken);
    const workflowId = await createWorkflow({
      trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
      action: {
        serviceProvider: 'slack',
        actionId: 'post-message',
        config: { channel: '#general', text: 'hello' },
        credentialsId: credentialId,
      },
    });
    const [first] = await runAll(workflowId, 1);
    expect(field(first, 'status')).toBe('completed');
    // Slack drops the token (the app was uninstalled, the token revoked from Slack's side).
    slack.validTokens.delete(botToken);

    const [failed] = await runAll(workflowId, 1, 2).then((all) =>
      all.filter((execution) => field(execution, 'status') !== 'completed'),
    );
    expect(field(failed, 'status')).toBe('failed');
    expect(String(field(failed, 'errorMessage'))).toContain('needs reconnecting');
    expect(await statusOf(credentialId)).toBe('needs_reconnect');
  });
});

describe('the Gmail mailbox listener after the provider invalidated the token', () => {
  it('refreshes once and delivers the mail', async () => {
    const { credentialId, accessToken } = await connect();
    const workflowId = await createWorkflow({
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: { subjectContains: 'listener' },
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { url: `${sink.baseUrl}/ok-listener`, body: { mail: '{{trigger.id}}' } },
      },
    });
    await system.activate(token, workflowId);
    await waitFor('the listener record', async () => {
      const rows = await system.sql`select 1 from trigger_listeners where credential_id = ${credentialId}
        and watched_at is not null`;
      return rows.length > 0 ? true : undefined;
    });
    google.invalidateAccessToken(accessToken);
    const refreshesBefore = google.refreshCount;

    const mail = gmail.deliver(google.account, {
      from: 'someone@example.com',
      to: google.account,
      subject: 'listener test',
      text: 'hi',
    });
    const pushed = await pubsub.push(
      system.url('trigger-ingest', '/pubsub/gmail'),
      { emailAddress: google.account, historyId: mail.historyId },
      {},
    );
    expect(pushed.status, pushed.body).toBe(204);
    await waitFor('the run', async () => {
      const executions = await system.executions(token, workflowId);
      return executions.some((execution) => field(execution, 'status') === 'completed') ? true : undefined;
    });
    expect(google.refreshCount - refreshesBefore).toBe(1);
    expect(sink.forPath('/ok-listener')).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('shows no token, refused or renewed, in any log line', () => {
    const logs = system.logLines.join('\n');
    for (const secret of [...google.issuedSecrets, 'xoxb-early-invalidation']) {
      expect(logs).not.toContain(secret);
    }
  });
});
