import { FakeGmail, FakeOAuthServer, FakePubSubPush, Sink } from '@autoflow/fakes';
import { type AppName, freePort } from '@autoflow/local-stack';
import { baseMetricName, parseExposition, type Sample, sumOf, TEMPORAL_SDK_METRICS } from '@autoflow/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System, type WorkflowBody, waitFor } from '../src/system.js';

// Every app's /metrics and the worker's Temporal SDK endpoint, scraped before and after driving webhook
// runs, Gmail runs, failing runs and refusals: each counter moves by exactly what was driven.

const FRONTEND = 'http://frontend.test';
const AUDIENCE = 'https://ingest.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@autoflow-test.iam.gserviceaccount.com';
const WEBHOOK_RUN = { trigger: 'webhook.receive', action: 'http.request' };
const GMAIL_RUN = { trigger: 'gmail.receive-email', action: 'gmail.send-email' };

const google = new FakeOAuthServer();
const gmail = new FakeGmail();
const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
const sink = new Sink();
let system: System;
let token: string;
let sdkMetricsUrl: string;

beforeAll(async () => {
  await Promise.all([google.start(), gmail.start(), pubsub.start(), sink.start()]);
  gmail.addMailbox(google.account);
  gmail.tokenOwner = (accessToken) => (google.isAccessToken(accessToken) ? google.account : undefined);
  const sdkMetricsAddress = `127.0.0.1:${await freePort()}`;
  sdkMetricsUrl = `http://${sdkMetricsAddress}/metrics`;
  system = new System({
    allowedHosts: [sink.hostPort],
    env: {
      ...google.appEnv(FRONTEND),
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/autoflow-test/topics/gmail-push',
      PUBSUB_PUSH_AUDIENCE: AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
      TEMPORAL_METRICS_BIND_ADDRESS: sdkMetricsAddress,
    },
  });
  await system.start();
  ({ token } = await system.signUp());
});

afterAll(async () => {
  await system?.stop();
  await Promise.all([google.stop(), gmail.stop(), pubsub.stop(), sink.stop()]);
});

async function scrapeUrl(url: string): Promise<Sample[]> {
  const answer = await fetch(url);
  expect(answer.status, url).toBe(200);
  return parseExposition(await answer.text());
}

type Scrapes = Record<AppName, Sample[]>;

async function scrapeAll(): Promise<Scrapes> {
  const [api, oauth, ingest, worker] = await Promise.all(
    (['api-gateway', 'oauth-service', 'trigger-ingest', 'worker'] as const).map((app) =>
      scrapeUrl(system.url(app, '/metrics')),
    ),
  );
  return {
    'api-gateway': api ?? [],
    'oauth-service': oauth ?? [],
    'trigger-ingest': ingest ?? [],
    worker: worker ?? [],
  };
}

/** How much a metric (the sum of its series matching `labels`) moved between two scrapes of an app. */
function delta(
  before: Scrapes,
  after: Scrapes,
  app: AppName,
  name: string,
  labels: Record<string, string> = {},
): number {
  return sumOf(after[app], name, labels) - sumOf(before[app], name, labels);
}

async function createWorkflow(body: Omit<WorkflowBody, 'name'>) {
  const created = await system.createWorkflow(token, { name: 'metrics', ...body });
  return { id: created.id, hookUrl: String(created.webhook?.url) };
}

async function setActive(workflowId: number, active: boolean): Promise<void> {
  const client = system.client(token);
  const byId = { params: { path: { id: workflowId } } };
  const answer = active
    ? await client.POST('/api/workflows/{id}/activate', byId)
    : await client.POST('/api/workflows/{id}/deactivate', byId);
  expect(answer.response.status).toBe(200);
}

async function finished(workflowId: number, count: number): Promise<unknown[]> {
  return waitFor(`${count} finished executions of ${workflowId}`, async () => {
    const executions = await system.executions(token, workflowId);
    const done = executions.filter((execution) => field(execution, 'status') !== 'running');
    return done.length >= count ? done : undefined;
  });
}

function webhookToSink(path: string) {
  return {
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url: `${sink.baseUrl}${path}` },
    },
  };
}

const HTTP_COUNT = 'autoflow_http_request_duration_seconds_count';

describe('webhook runs, failing runs and refusals', () => {
  it('move the run, latency, rejection and per-route counters by exactly what was sent', async () => {
    const good = await createWorkflow(webhookToSink('/ok'));
    const failing = await createWorkflow(webhookToSink('/bad'));
    const inactive = await createWorkflow(webhookToSink('/ok'));
    await setActive(good.id, true);
    await setActive(failing.id, true);
    const before = await scrapeAll();

    for (let index = 0; index < 3; index++) {
      const answer = await http('POST', good.hookUrl, { body: { index } });
      expect(answer.status).toBe(202);
    }
    expect((await http('POST', failing.hookUrl, { body: {} })).status).toBe(202);
    await finished(good.id, 3);
    await finished(failing.id, 1);
    // Refusals: two unknown hooks, an inactive one, a body over the limit, a push without a valid token.
    const unknownHook = good.hookUrl.replace(/[^/]+$/, 'no-such-hook');
    expect((await http('POST', unknownHook, { body: {} })).status).toBe(404);
    expect((await http('POST', `${unknownHook}-2`, { body: {} })).status).toBe(404);
    expect((await http('POST', inactive.hookUrl, { body: {} })).status).toBe(404);
    const tooLarge = await http('POST', good.hookUrl, { rawBody: 'x'.repeat(1024 * 1024 + 1) });
    expect(tooLarge.status).toBe(413);
    const unsignedPush = await http('POST', system.url('trigger-ingest', '/pubsub/gmail'), {
      body: { message: { data: '' } },
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(unsignedPush.status).toBe(401);
    // Two API reads and two OAuth starts refused for their missing parameters, for the other apps' per-route counters.
    for (let index = 0; index < 2; index++) {
      const executions = await system
        .client(token)
        .GET('/api/workflows/{id}/executions', { params: { path: { id: good.id } } });
      expect(executions.response.status).toBe(200);
      const withoutProvider = await system
        .client(undefined, 'oauth-service')
        .GET('/api/oauth2-credential/auth', {
          // @ts-expect-error `provider` is required: the compiler refuses its absence, and the API answers 400
          params: { query: {} },
        });
      expect(withoutProvider.response.status).toBe(400);
    }
    const after = await scrapeAll();

    expect(delta(before, after, 'worker', 'autoflow_runs_started_total', WEBHOOK_RUN)).toBe(4);
    const finishedRuns = (status: string) =>
      delta(before, after, 'worker', 'autoflow_runs_finished_total', { ...WEBHOOK_RUN, status });
    expect(finishedRuns('completed')).toBe(3);
    expect(finishedRuns('failed')).toBe(1);
    const latency = (status: string) =>
      delta(before, after, 'worker', 'autoflow_run_duration_seconds_count', { ...WEBHOOK_RUN, status });
    expect(latency('completed')).toBe(3);
    expect(latency('failed')).toBe(1);
    expect(delta(before, after, 'worker', 'autoflow_run_duration_seconds_sum', WEBHOOK_RUN)).toBeGreaterThan(
      0,
    );

    const rejected = (source: string, reason: string) =>
      delta(before, after, 'trigger-ingest', 'autoflow_ingest_rejections_total', { source, reason });
    expect(rejected('webhook', 'unknown_hook')).toBe(2);
    expect(rejected('webhook', 'inactive')).toBe(1);
    expect(rejected('webhook', 'err_ctp_body_too_large')).toBe(1);
    expect(rejected('gmail_push', 'invalid_token')).toBe(1);
    expect(delta(before, after, 'trigger-ingest', 'autoflow_ingest_rejections_total')).toBe(5);

    const hooks = { route: '/hooks/:hookId', method: 'POST' };
    expect(delta(before, after, 'trigger-ingest', HTTP_COUNT, { ...hooks, status_code: '202' })).toBe(4);
    expect(delta(before, after, 'trigger-ingest', HTTP_COUNT, { ...hooks, status_code: '404' })).toBe(3);
    expect(delta(before, after, 'trigger-ingest', HTTP_COUNT, { ...hooks, status_code: '413' })).toBe(1);
    const executionsRoute = { route: '/api/workflows/:id/executions', status_code: '200' };
    expect(delta(before, after, 'api-gateway', HTTP_COUNT, executionsRoute)).toBeGreaterThanOrEqual(2);
    const oauthRoute = { route: '/api/oauth2-credential/auth', status_code: '400' };
    expect(delta(before, after, 'oauth-service', HTTP_COUNT, oauthRoute)).toBe(2);
    // No hook id, user id or raw path in any label value of any app.
    const hookId = good.hookUrl.split('/').at(-1) ?? '';
    for (const samples of Object.values(after)) {
      const values = samples.flatMap((sample) => Object.values(sample.labels));
      expect(values.filter((value) => value.includes(hookId) || value.includes('no-such-hook'))).toEqual([]);
    }
  });
});

describe('Gmail runs', () => {
  it('count runs, quota units as Google meters them, queue waits, refreshes and the reconnect', async () => {
    const credentialId = await system.connectThroughOAuth({
      token,
      provider: 'gmail',
      redirectUrl: `${FRONTEND}/done`,
    });
    const workflow = await createWorkflow({
      trigger: {
        serviceProvider: 'gmail',
        triggerId: 'receive-email',
        config: {},
        credentialsId: credentialId,
      },
      action: {
        serviceProvider: 'gmail',
        actionId: 'send-email',
        config: { to: 'me@example.com', subject: 'Fwd: {{trigger.subject}}', body: 'x' },
        credentialsId: credentialId,
      },
    });
    await setActive(workflow.id, true);
    await waitFor('the watch', async () => (gmail.watchCalls.length > 0 ? true : undefined));
    await waitFor('the listener record', async () => {
      const rows = await system.sql`select 1 from trigger_listeners where credential_id = ${credentialId}`;
      return rows.length > 0 ? true : undefined;
    });
    const pushMail = async (subject: string) => {
      const mail = gmail.deliver(google.account, { from: 'a@example.com', to: google.account, subject });
      const answer = await pubsub.push(system.url('trigger-ingest', '/pubsub/gmail'), {
        emailAddress: google.account,
        historyId: mail.historyId,
      });
      expect(answer.status, answer.body).toBe(204);
    };
    const sdkBefore = await scrapeUrl(sdkMetricsUrl);
    const unitsBefore = gmail.unitsSpent();
    const before = await scrapeAll();

    for (let index = 0; index < 3; index++) await pushMail(`mail ${index}`);
    await finished(workflow.id, 3);
    // The access token dies before its expiry: the next Gmail call is refused, renewed once, and succeeds.
    const firstToken = google.issuedTokens.at(-1);
    google.invalidateAccessToken(firstToken?.accessToken ?? '');
    await pushMail('after renewal');
    await finished(workflow.id, 4);
    // Then the user revokes the app: the refresh is refused and the credential needs reconnecting.
    const renewed = google.issuedTokens.at(-1);
    google.invalidateAccessToken(renewed?.accessToken ?? '');
    google.revokeRefreshToken(renewed?.refreshToken ?? firstToken?.refreshToken ?? '');
    await pushMail('after revocation');
    await waitFor('the credential marked needs_reconnect', async () => {
      const rows = await system.sql`select 1 from credentials where id = ${credentialId} and not is_valid`;
      return rows.length > 0 ? true : undefined;
    });

    // The quota counter follows Google's meter exactly, once every call made has been reported.
    const after = await waitFor('the quota metric to match the fake’s meter', async () => {
      const scrapes = await scrapeAll();
      const counted = delta(before, scrapes, 'worker', 'autoflow_provider_quota_units_total', {
        provider: 'gmail',
      });
      return counted === gmail.unitsSpent() - unitsBefore ? scrapes : undefined;
    });
    expect(gmail.unitsSpent() - unitsBefore).toBeGreaterThan(0);
    const units = (method: string) =>
      delta(before, after, 'worker', 'autoflow_provider_quota_units_total', { provider: 'gmail', method });
    expect(units('messages.send')).toBe(4 * 100);

    expect(delta(before, after, 'worker', 'autoflow_runs_started_total', GMAIL_RUN)).toBe(4);
    expect(
      delta(before, after, 'worker', 'autoflow_runs_finished_total', { ...GMAIL_RUN, status: 'completed' }),
    ).toBe(4);
    expect(
      delta(before, after, 'worker', 'autoflow_run_duration_seconds_count', {
        ...GMAIL_RUN,
        status: 'completed',
      }),
    ).toBe(4);
    // Each send waited once in gmail-queue (no retries); listener calls wait in the main queue.
    expect(
      delta(before, after, 'worker', 'autoflow_activity_queue_wait_seconds_count', {
        task_queue: 'gmail-queue',
      }),
    ).toBe(4);
    expect(
      delta(before, after, 'worker', 'autoflow_oauth_token_refreshes_total', {
        provider: 'gmail',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      delta(before, after, 'worker', 'autoflow_oauth_token_refreshes_total', {
        provider: 'gmail',
        outcome: 'refused',
      }),
    ).toBe(1);
    expect(
      delta(before, after, 'worker', 'autoflow_oauth_needs_reconnect_total', { provider: 'gmail' }),
    ).toBe(1);

    // The Temporal SDK's own endpoint: every SDK metric the dashboard reads is there, and it moved.
    const sdkAfter = await scrapeUrl(sdkMetricsUrl);
    const sdkNames = new Set(sdkAfter.map((sample) => baseMetricName(sample.name)));
    for (const name of TEMPORAL_SDK_METRICS) expect(sdkNames, name).toContain(name);
    const gmailQueueStarts = (samples: Sample[]) =>
      sumOf(samples, 'temporal_activity_schedule_to_start_latency_count', { task_queue: 'gmail-queue' });
    expect(gmailQueueStarts(sdkAfter) - gmailQueueStarts(sdkBefore)).toBe(4);
  });
});
