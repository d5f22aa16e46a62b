import { createServer, type Server, type Socket } from 'node:net';
import { generateKey } from '@autoflow/crypto';
import { FakeSlack, Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { field, http, System, type WorkflowBody, waitFor } from '../src/system.js';

// Issue 11, items 6 and 7: one tenant's slow target or long queue must not delay another tenant.

/** Posts tenant A queues on slack-queue before tenant B posts once (600 for the report; fewer in CI). */
const QUEUED_POSTS = Number(process.env.TENANT_ISOLATION_QUEUED_POSTS ?? 100);

/** Runs tenant A fires at a target that never answers, before tenant B's burst (60 as in the issue). */
const HANGING_RUNS = Number(process.env.TENANT_ISOLATION_HANGING_RUNS ?? 60);

/** Accepts connections and never answers: the worst target a tenant can point a workflow at. */
class HangingServer {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.#server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

const sink = new Sink();
const hanging = new HangingServer();
const slack = new FakeSlack();
let system: System;

beforeAll(async () => {
  await Promise.all([sink.start(), hanging.start(), slack.start()]);
  system = new System({
    allowedHosts: [sink.hostPort, hanging.hostPort],
    env: { SLACK_API_URL: slack.apiUrl },
  });
  await system.start();
});

afterAll(async () => {
  await system?.stop();
  await Promise.all([sink.stop(), hanging.stop(), slack.stop()]);
});

function createActiveWorkflow(token: string, body: WorkflowBody): Promise<{ id: number; hookUrl: string }> {
  return system.createActiveWorkflow(token, body);
}

function webhookToHttp(url: string) {
  return {
    name: `to ${url}`,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url, body: { n: '{{trigger.body.n}}' } },
    },
  };
}

function manualToSlack(channel: string, credentialsId: number) {
  return {
    name: `post to ${channel}`,
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action: {
      serviceProvider: 'slack',
      actionId: 'post-message',
      config: { channel, text: 'post {{trigger.payload.n}}' },
      credentialsId,
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
async function inBatches<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>) {
  for (let index = 0; index < items.length; index += concurrency)
    await Promise.all(items.slice(index, index + concurrency).map(task));
}

it(`delivers tenant B's Slack post while tenant A has ${QUEUED_POSTS} posts queued on slack-queue`, async () => {
  const tenantA = await system.signUp();
  const tenantB = await system.signUp();
  const tokenA = `xoxb-${generateKey()}`;
  const tokenB = `xoxb-${generateKey()}`;
  slack.validTokens.add(tokenA);
  slack.validTokens.add(tokenB);
  const workflowA = await createActiveWorkflow(
    tenantA.token,
    manualToSlack('#tenant-a', await system.insertConnectedCredential(tenantA.userId, 'slack', tokenA)),
  );
  const workflowB = await createActiveWorkflow(
    tenantB.token,
    manualToSlack('#tenant-b', await system.insertConnectedCredential(tenantB.userId, 'slack', tokenB)),
  );

  const posts = Array.from({ length: QUEUED_POSTS }, (_, n) => n);
  await inBatches(posts, 20, async (n) => {
    const run = await system.client(tenantA.token).POST('/api/workflows/{id}/run', {
      params: { path: { id: workflowA.id } },
      body: { payload: { n } },
    });
    expect(run.response.status).toBe(202);
  });

  const sentAt = Date.now();
  const run = await system.client(tenantB.token).POST('/api/workflows/{id}/run', {
    params: { path: { id: workflowB.id } },
    body: { payload: { n: 'b' } },
  });
  expect(run.response.status).toBe(202);
  const postB = await waitFor(
    "tenant B's post",
    async () => slack.posted.find((call) => call.channel === '#tenant-b'),
    60_000,
    20,
  );
  const postedA = slack.posted.filter((call) => call.channel === '#tenant-a' && call.at <= postB.at).length;
  console.log(
    `[tenant-isolation] slack-queue: tenant B's post arrived ${postB.at - sentAt} ms after its run was ` +
      `started, with ${QUEUED_POSTS - postedA} of tenant A's ${QUEUED_POSTS} posts still queued`,
  );
  expect(postedA).toBeLessThan(QUEUED_POSTS);
  // Tenant A's account still gets only Slack's rate (1/s): most of its posts are still waiting. (Without
  // fairness on the server the per-account limit is not enforced and A's posts all go out at once.)
  expect(postedA).toBeLessThan(QUEUED_POSTS / 2);
}, 300_000);

/** Fires `count` webhooks at once; the sorted milliseconds from each one's POST to its arrival at the sink. */
async function fireAndMeasure(hookUrl: string, label: string, count: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const answers = await Promise.all(
    Array.from({ length: count }, (_, index) => {
      const n = `${label}-${index}`;
      sentAt.set(n, Date.now());
      return http('POST', hookUrl, { body: { n }, headers: { 'webhook-id': n } });
    }),
  );
  expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 202));
  const arrivals = () => {
    const first = new Map<string, number>();
    for (const request of sink.forPath('/ok')) {
      const n = String(field(request.body, 'n'));
      if (sentAt.has(n) && !first.has(n)) first.set(n, request.receivedAt);
    }
    return first;
  };
  const reached = await waitFor(
    `${count} runs (${label}) at the sink`,
    async () => (arrivals().size === count ? arrivals() : undefined),
    30_000,
    20,
  ).catch((error: unknown) => {
    console.log(
      `[tenant-isolation] slow target: only ${arrivals().size} of ${count} runs (${label}) arrived`,
    );
    throw error;
  });
  return [...reached].map(([n, at]) => at - (sentAt.get(n) ?? at)).sort((a, b) => a - b);
}

it(`reaches tenant B's fast target while tenant A's ${HANGING_RUNS} runs hang on theirs`, async () => {
  const tenantA = await system.signUp();
  const tenantB = await system.signUp();
  const hangingWorkflow = await createActiveWorkflow(
    tenantA.token,
    webhookToHttp(`http://${hanging.hostPort}/never`),
  );
  const fastWorkflow = await createActiveWorkflow(tenantB.token, webhookToHttp(`${sink.baseUrl}/ok`));
  // The same burst with nothing else running (after a warm-up), as the yardstick on this machine.
  await fireAndMeasure(fastWorkflow.hookUrl, 'warm-up', 5);
  const baseline = await fireAndMeasure(fastWorkflow.hookUrl, 'alone', 20);

  const hangingAnswers = await Promise.all(
    Array.from({ length: HANGING_RUNS }, (_, n) =>
      http('POST', hangingWorkflow.hookUrl, { body: { n }, headers: { 'webhook-id': `a-${n}` } }),
    ),
  );
  expect(hangingAnswers.map((answer) => answer.status)).toEqual(hangingAnswers.map(() => 202));
  await new Promise((resolve) => setTimeout(resolve, 3_000));

  // Tenant B's 20 runs must all reach the target, within a generous bound (the figure is for the report).
  const latencies = await fireAndMeasure(fastWorkflow.hookUrl, 'during', 20);
  console.log(
    `[tenant-isolation] slow target: tenant B's 20 webhooks reached the sink with p50 ` +
      `${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms while tenant A's ${HANGING_RUNS} runs hung ` +
      `(alone, before: p50 ${percentile(baseline, 50)} ms, p99 ${percentile(baseline, 99)} ms)`,
  );
  expect(latencies).toHaveLength(20);
}, 120_000);
