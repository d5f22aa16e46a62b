import { createTokenService } from '@autoflow/http-kit';
import { cpuPerRun, cpuSnapshot, memoryOf, type ProcessMemory } from './cpu.js';
import {
  type ConnectedMailbox,
  type GmailHarness,
  type MailboxOwner,
  type MailLatencies,
  type MailTiming,
  summarizeMails,
} from './gmail.js';

// Many connected mailboxes (issue 15, item 3): N tenants, each with one Gmail mailbox and an active
// receive-email → HTTP workflow, so N mailbox workflows live in Temporal and in the worker. Measures one
// mailbox's push → recorded alone (the Gmail path), then with the others idle, then many mailboxes
// receiving at once, and the worker's memory throughout, all in one launched system.

/** The issue's goals for 1,000 mailboxes. */
export const MAILBOX_GOALS = { workerRssMiB: 1024, idleP50Ratio: 1.2 } as const;

export interface ManyMailboxesPlan {
  /** Connected mailboxes in all, mailbox #1 included. */
  mailboxes: number;
  /** Mailboxes receiving at once in the concurrent phase (at most `mailboxes`). */
  concurrentMailboxes: number;
  sequentialRuns: number;
  warmupRuns: number;
  /** Length of the concurrent phase. */
  seconds: number;
}

/**
 * The worker process's memory, and its Temporal SDK's workflow cache (from the SDK's Prometheus
 * metrics; NaN when they could not be read). Counters count from the worker's start.
 */
export interface WorkerMemory extends ProcessMemory {
  /** Workflows in the SDK's sticky cache (temporal_sticky_cache_size). */
  cachedWorkflows: number;
  /** Workflows the SDK evicted to make room (temporal_sticky_cache_total_forced_eviction). */
  forcedEvictions: number;
  /** Mailbox workflow tasks that found their workflow cached (temporal_sticky_cache_hit). */
  mailboxCacheHits: number;
  /**
   * Workflow tasks that did not find their workflow cached, which was replayed from its history
   * (temporal_sticky_cache_miss; the SDK labels it without workflow type). A run completes in its
   * first task, which is not counted, so these are mailbox workflows'.
   */
  cacheMisses: number;
}

export interface ManyMailboxesResult {
  mailboxes: number;
  /** Creating mailboxes #2..#N (users, credentials, workflows, activations) until every one is watched. */
  setupSeconds: number;
  /** Mailbox #1, sequential runs, before the others exist. */
  alone: MailLatencies;
  /** Mailbox #1, sequential runs, with the N - 1 others connected and idle. */
  othersIdle: MailLatencies;
  /**
   * `concurrentMailboxes` distinct mailboxes, one loop of mails each, sending for `seconds`: every mail
   * sent, and the rate from the first send to the last mail recorded.
   */
  concurrent: MailLatencies & {
    mailboxes: number;
    seconds: number;
    /** Mails sent in the window, every one recorded. */
    completed: number;
    /** Pushes of those mails answered 5xx and sent again (see GmailHarness.mailOnce). */
    redeliveries: number;
    perSecond: number;
    /** CPU ms per mail, by process. */
    cpuMsPerRun: Record<string, number>;
  };
  /** othersIdle / alone, push → recorded p50 (goal ≤ MAILBOX_GOALS.idleP50Ratio). */
  idleP50Ratio: number;
  worker: {
    alone: WorkerMemory;
    afterSetup: WorkerMemory;
    afterIdleRuns: WorkerMemory;
    afterConcurrent: WorkerMemory;
  };
}

/**
 * Sum of a metric's samples whose labels contain `labelFilter`, in a Prometheus text exposition; NaN
 * without an exposition, 0 when the metric is absent (the SDK shows a counter from its first increment).
 */
function metricSum(exposition: string | undefined, name: string, labelFilter = ''): number {
  if (exposition === undefined) return Number.NaN;
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match?.[1] === name && (match[2] ?? '').includes(labelFilter)) sum += Number(match[3]);
  }
  return sum;
}

async function workerMemory(harness: GmailHarness): Promise<WorkerMemory> {
  const memory = await memoryOf(harness.launched.apps.get('worker')?.child.pid);
  const response = await fetch(harness.workerSdkMetricsUrl).catch(() => undefined);
  const exposition = response?.ok ? await response.text() : undefined;
  const mailbox = 'workflow_type="gmailMailboxWorkflow"';
  return {
    ...memory,
    cachedWorkflows: metricSum(exposition, 'temporal_sticky_cache_size'),
    forcedEvictions: metricSum(exposition, 'temporal_sticky_cache_total_forced_eviction_total'),
    mailboxCacheHits: metricSum(exposition, 'temporal_sticky_cache_hit_total', mailbox),
    cacheMisses: metricSum(exposition, 'temporal_sticky_cache_miss_total'),
  };
}

async function sequentialMails(harness: GmailHarness, address: string, plan: ManyMailboxesPlan) {
  const samples: MailTiming[] = [];
  for (let run = 0; run < plan.warmupRuns + plan.sequentialRuns; run++) {
    const timing = await harness.mailOnce(address);
    if (run >= plan.warmupRuns) samples.push(timing);
  }
  return summarizeMails(samples);
}

/** Runs `work` over `items` with at most `concurrency` at once. */
async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}

/** Mailbox #index's address; #1 is the Gmail path's. */
export const mailboxAddress = (index: number) => `mailbox-${index}@gmail.test`;

/**
 * Tenants #2..#N, each with one mailbox. Accounts are inserted in one statement (registration hashes
 * each password with argon2 and is rate-limited per address: what it costs is not what is measured
 * here) and get sessions signed with the deployment's JWT key, as a login would answer; each tenant
 * then connects its mailbox and creates and activates its workflow through the API, as a person does.
 */
async function connectOtherMailboxes(
  harness: GmailHarness,
  first: MailboxOwner,
  count: number,
  log: (message: string) => void,
): Promise<void> {
  if (count < 2) return;
  const users = await harness.sql<{ id: number; email: string }[]>`
    insert into users (email, name, password_hash)
    select 'tenant-' || g || '@bench.example.com', 'tenant ' || g,
           (select password_hash from users where id = ${first.userId})
    from generate_series(2, ${count}::int) g
    returning id, email`;
  const secret = harness.launched.env.JWT_SECRET;
  if (!secret) throw new Error('the launched system has no JWT_SECRET');
  const tokens = createTokenService(secret);
  const tenants = await Promise.all(
    users.map(async (user) => ({
      index: Number(/^tenant-(\d+)@/.exec(user.email)?.[1]),
      owner: { userId: user.id, token: await tokens.issue(user.id) },
    })),
  );
  let connected = 1;
  // Eight at once: the API and the worker stay busy without a queue of unanswered requests.
  await inPool(tenants, 8, async (tenant) => {
    await harness.connectMailbox(tenant.owner, mailboxAddress(tenant.index));
    connected++;
    if (connected % 100 === 0) log(`many mailboxes: ${connected} of ${count} connected`);
  });
}

/**
 * In the Gmail path's launched system, after its runs on mailbox #1 (`alone`, measured before any other
 * mailbox existed): connects mailboxes #2..#N, then measures #1 again with the others idle, then
 * `concurrentMailboxes` of them receiving at once.
 */
export async function measureManyMailboxes(
  harness: GmailHarness,
  first: ConnectedMailbox,
  alone: MailLatencies,
  plan: ManyMailboxesPlan,
  /** The Temporal server's process, for CPU accounting. */
  temporalPid: number | undefined,
  log: (message: string) => void,
): Promise<ManyMailboxesResult> {
  const aloneMemory = await workerMemory(harness);
  const setupStart = performance.now();
  await connectOtherMailboxes(harness, first.owner, plan.mailboxes, log);
  // Generous: 1,000 mailboxes were watched within 90 s on 2 cores loaded by other work.
  await harness.waitUntilWatched(plan.mailboxes, 60_000 + plan.mailboxes * 500);
  const setupSeconds = (performance.now() - setupStart) / 1000;
  log(`many mailboxes: ${plan.mailboxes} watched after ${setupSeconds.toFixed(1)} s of setup`);
  // Let the last mailbox workflows finish their first tasks before "idle" is measured.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const afterSetup = await workerMemory(harness);

  const othersIdle = await sequentialMails(harness, first.address, plan);
  const afterIdleRuns = await workerMemory(harness);
  log(
    `many mailboxes: #1 alone p50 ${alone.recorded.p50.toFixed(1)} ms, with ${plan.mailboxes - 1} others idle ${othersIdle.recorded.p50.toFixed(1)} ms; worker RSS ${afterIdleRuns.rssMiB.toFixed(0)} MiB`,
  );

  const receiving = Math.max(1, Math.min(plan.concurrentMailboxes, plan.mailboxes));
  const addresses = [
    first.address,
    ...Array.from({ length: receiving - 1 }, (_, i) => mailboxAddress(i + 2)),
  ];
  const timings: MailTiming[] = [];
  const tracked = {
    temporal: temporalPid,
    'trigger-ingest': harness.launched.apps.get('trigger-ingest')?.child.pid,
    worker: harness.launched.apps.get('worker')?.child.pid,
  };
  const cpuBefore = await cpuSnapshot(tracked);
  // Every mail sent in the window counts, and the rate runs until the last one is recorded: a run can
  // take longer than the window here, and counting only those done within it would hide that.
  const start = performance.now();
  const deadline = start + plan.seconds * 1000;
  await Promise.all(
    addresses.map(async (address) => {
      while (performance.now() < deadline) timings.push(await harness.mailOnce(address));
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuMsPerRun = cpuPerRun(cpuBefore, await cpuSnapshot(tracked), timings.length);
  const afterConcurrent = await workerMemory(harness);
  log(
    `many mailboxes: ${receiving} receiving at once, ${(timings.length / seconds).toFixed(1)} runs/s; worker RSS ${afterConcurrent.rssMiB.toFixed(0)} MiB`,
  );

  return {
    mailboxes: plan.mailboxes,
    setupSeconds,
    alone: { accepted: alone.accepted, sink: alone.sink, recorded: alone.recorded },
    othersIdle,
    concurrent: {
      ...summarizeMails(timings),
      mailboxes: receiving,
      seconds,
      completed: timings.length,
      redeliveries: timings.reduce((sum, timing) => sum + timing.redeliveries, 0),
      perSecond: timings.length / seconds,
      cpuMsPerRun,
    },
    idleP50Ratio: othersIdle.recorded.p50 / alone.recorded.p50,
    worker: { alone: aloneMemory, afterSetup, afterIdleRuns, afterConcurrent },
  };
}
