// The mailbox workflow on a real local Temporal server, with in-memory activities that record their calls.
import { fileURLToPath } from 'node:url';
import {
  type GmailHistoryResult,
  type GmailMailboxActivities,
  type GmailWatchResult,
  gmailMailboxWorkflowId,
} from '@autoflow/workflow-contracts';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type gmailMailboxWorkflow,
  gmailNotificationSignal,
  gmailSubscriptionsChangedSignal,
} from '../src/workflows.js';

// CI names its own binary; locally the repo's tools directory (/work/main/.tools/bin/temporal) has one.
const TEMPORAL_CLI =
  process.env.TEMPORAL_CLI_PATH || fileURLToPath(new URL('../../../../.tools/bin/temporal', import.meta.url));
const TASK_QUEUE = 'gmail-mailbox-test';
const HOUR_MS = 60 * 60 * 1000;

type Call =
  | { activity: 'gmailSyncWatch'; renew: boolean }
  | { activity: 'gmailProcessHistory'; cursor: string; cursorTime: number | null };

/** One mailbox as its activities see it: Gmail's position, the watch, and failures to inject. */
class FakeMailbox {
  readonly calls: Call[] = [];
  /** Gmail's current historyId: where a new watch starts and how far a history read reaches. */
  head = '100';
  watching = true;
  /** The renewal time a watch reports, from now; null reports none. */
  renewAfterMs: number | null = HOUR_MS;
  watchFailure: Error | undefined;
  historyFailure: Error | undefined;
  /** While set, a history read holds its result (read at the call's start) until the gate opens. */
  historyGate: Promise<void> | undefined;

  constructor(readonly credentialId: number) {}

  watchCalls(): boolean[] {
    return this.calls.flatMap((call) => (call.activity === 'gmailSyncWatch' ? [call.renew] : []));
  }

  historyCursorTimes(): (number | null)[] {
    return this.calls.flatMap((call) => (call.activity === 'gmailProcessHistory' ? [call.cursorTime] : []));
  }

  historyCursors(): string[] {
    return this.calls.flatMap((call) => (call.activity === 'gmailProcessHistory' ? [call.cursor] : []));
  }

  async syncWatch(renew: boolean): Promise<GmailWatchResult> {
    this.calls.push({ activity: 'gmailSyncWatch', renew });
    if (this.watchFailure) throw this.watchFailure;
    if (!this.watching) return { watching: false, historyId: null, renewWatchAt: null };
    return {
      watching: true,
      historyId: this.head,
      renewWatchAt: this.renewAfterMs === null ? null : Date.now() + this.renewAfterMs,
    };
  }

  async processHistory(cursor: string, cursorTime: number | null): Promise<GmailHistoryResult> {
    this.calls.push({ activity: 'gmailProcessHistory', cursor, cursorTime });
    if (this.historyFailure) throw this.historyFailure;
    const readUpTo = this.head;
    await this.historyGate;
    return { cursor: readUpTo, cursorTime: Date.now(), messagesSeen: 0, runsStarted: 0, resynced: false };
  }
}

const mailboxes = new Map<number, FakeMailbox>();

const activities: GmailMailboxActivities = {
  async gmailSyncWatch({ credentialId, renew }) {
    return mailboxOf(credentialId).syncWatch(renew);
  },
  async gmailProcessHistory({ credentialId, cursor, cursorTime }) {
    return mailboxOf(credentialId).processHistory(cursor, cursorTime);
  },
};

function mailboxOf(credentialId: number): FakeMailbox {
  const mailbox = mailboxes.get(credentialId);
  if (!mailbox) throw ApplicationFailure.nonRetryable(`no fake mailbox ${credentialId}`, 'TestSetup');
  return mailbox;
}

function unusableFailure(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'MailboxUnusable');
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 8_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerRunning: Promise<void>;
let nextCredentialId = 1;
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  // Quiet: a continue-as-new racing a flood of signals makes the SDK core warn about superseded tasks.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: TEMPORAL_CLI } },
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('../src/workflows.ts', import.meta.url)),
    activities,
  });
  workerRunning = worker.run();
});

afterEach(async () => {
  for (const handle of started.splice(0)) {
    // Ended workflows refuse termination; only running ones need it.
    if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('test over');
  }
});

afterAll(async () => {
  worker?.shutdown();
  await workerRunning;
  await env?.teardown();
});

async function startMailbox(
  prepare: (mailbox: FakeMailbox) => void = () => {},
): Promise<{ mailbox: FakeMailbox; handle: WorkflowHandle<typeof gmailMailboxWorkflow> }> {
  const mailbox = new FakeMailbox(nextCredentialId++);
  prepare(mailbox);
  mailboxes.set(mailbox.credentialId, mailbox);
  const handle = await env.client.workflow.start<typeof gmailMailboxWorkflow>('gmailMailboxWorkflow', {
    taskQueue: TASK_QUEUE,
    workflowId: gmailMailboxWorkflowId(mailbox.credentialId),
    args: [{ credentialId: mailbox.credentialId }],
  });
  started.push(handle);
  return { mailbox, handle };
}

/**
 * Resolves once the workflow has handled every signal sent so far and waits for more: no activity
 * or workflow task is outstanding. After it, a missing activity call is really missing.
 */
async function whenIdle(handle: WorkflowHandle): Promise<void> {
  await waitFor('the workflow to wait for work', async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const lastSignal = events.findLastIndex((event) => event.workflowExecutionSignaledEventAttributes);
    const lastTaskDone = events.findLastIndex((event) => event.workflowTaskCompletedEventAttributes);
    const last = events.at(-1);
    // A task that ran the (local) history read ends with its marker.
    const waiting = Boolean(
      last?.workflowTaskCompletedEventAttributes ||
        last?.timerStartedEventAttributes ||
        last?.markerRecordedEventAttributes,
    );
    return waiting && lastTaskDone > lastSignal;
  });
}

function notify(handle: WorkflowHandle, historyId: string): Promise<void> {
  return handle.signal(gmailNotificationSignal, { historyId });
}

async function statusOf(handle: WorkflowHandle): Promise<string> {
  return (await handle.describe()).status.name;
}

describe('gmailMailboxWorkflow', () => {
  it('checks the watch once on a fresh start and reads history from the cursor the watch reports', async () => {
    const startedAt = Date.now();
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.head = '4816352';
    });
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);
    await whenIdle(handle);
    expect(mailbox.watchCalls()).toEqual([false]);
    const watchedBy = Date.now();

    mailbox.head = '4816360';
    await notify(handle, '4816360');
    await waitFor('the history read', () => mailbox.historyCursors().length === 1);
    await whenIdle(handle);

    expect(mailbox.calls).toEqual([
      { activity: 'gmailSyncWatch', renew: false },
      { activity: 'gmailProcessHistory', cursor: '4816352', cursorTime: expect.any(Number) },
    ]);
    // The cursor's time is when the watch set it (workflow time), not when the push came.
    expect(mailbox.historyCursorTimes()[0]).toBeGreaterThanOrEqual(startedAt);
    expect(mailbox.historyCursorTimes()[0]).toBeLessThanOrEqual(watchedBy);
    expect(await statusOf(handle)).toBe('RUNNING');
  });

  it('reads nothing for notifications at or below the cursor', async () => {
    const { mailbox, handle } = await startMailbox();
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    await notify(handle, '100');
    await notify(handle, '99');
    await notify(handle, '7');
    await whenIdle(handle);

    expect(mailbox.historyCursors()).toEqual([]);
  });

  it('ignores notifications whose historyId is not a decimal number', async () => {
    const { mailbox, handle } = await startMailbox();
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    await notify(handle, '');
    await notify(handle, '1e9');
    await notify(handle, '-500');
    await notify(handle, '0x1ff');
    await whenIdle(handle);

    expect(mailbox.historyCursors()).toEqual([]);
    expect(await statusOf(handle)).toBe('RUNNING');
  });

  it('reads once up to the highest of out-of-order and duplicated notifications', async () => {
    const { mailbox, handle } = await startMailbox();
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    mailbox.head = '104';
    for (const historyId of ['104', '102', '104', '103', '101', '104']) await notify(handle, historyId);
    await waitFor('a history read', () => mailbox.historyCursors().length >= 1);
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual(['100']);

    // The cursor is now the highest: an old notification reads nothing, a newer one reads from 104.
    mailbox.head = '105';
    await notify(handle, '103');
    await notify(handle, '105');
    await waitFor('a second history read', () => mailbox.historyCursors().length >= 2);
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual(['100', '104']);
  });

  it('reads again for a notification that arrives while history is being read', async () => {
    const { mailbox, handle } = await startMailbox();
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    let openGate = () => {};
    mailbox.historyGate = new Promise((resolve) => {
      openGate = resolve;
    });
    mailbox.head = '101';
    await notify(handle, '101');
    await waitFor('the history read to start', () => mailbox.historyCursors().length === 1);

    // New mail after the read reached 101; its pushes arrive before the read returns.
    mailbox.head = '104';
    for (const historyId of ['104', '102', '103']) await notify(handle, historyId);
    mailbox.historyGate = undefined;
    openGate();

    await waitFor('the read of the newer mail', () => mailbox.historyCursors().length >= 2);
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual(['100', '101']);
  });

  it('compares historyIds above 2^53 exactly', async () => {
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.head = '9007199254740993';
    });
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    await notify(handle, '9007199254740992');
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual([]);

    mailbox.head = '9007199254740994';
    await notify(handle, '9007199254740994');
    await waitFor('the history read', () => mailbox.historyCursors().length === 1);
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual(['9007199254740993']);
  });

  it('sees one step above 2^53, and a longer number as larger, where doubles and strings would not', async () => {
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.head = '9007199254740992';
    });
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    // As doubles both are 9007199254740992.
    mailbox.head = '9007199254740993';
    await notify(handle, '9007199254740993');
    await waitFor('the first history read', () => mailbox.historyCursors().length === 1);
    await whenIdle(handle);

    // As strings "10…" sorts before "90…".
    mailbox.head = '10000000000000000000';
    await notify(handle, '10000000000000000000');
    await waitFor('the second history read', () => mailbox.historyCursors().length === 2);
    await whenIdle(handle);

    expect(mailbox.historyCursors()).toEqual(['9007199254740992', '9007199254740993']);
  });

  it('checks the watch again on a subscription change, and ends when nothing reads the mailbox', async () => {
    const { mailbox, handle } = await startMailbox();
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    await handle.signal(gmailSubscriptionsChangedSignal);
    await waitFor('the second watch', () => mailbox.watchCalls().length === 2);
    await whenIdle(handle);
    expect(await statusOf(handle)).toBe('RUNNING');

    mailbox.watching = false;
    await handle.signal(gmailSubscriptionsChangedSignal);
    await expect(handle.result()).resolves.toBeUndefined();
    expect(mailbox.watchCalls()).toEqual([false, false, false]);
    expect(await statusOf(handle)).toBe('COMPLETED');
  });

  it('renews the watch when it is due, without moving the cursor', async () => {
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.renewAfterMs = 2_000;
    });
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);
    // Mail arrives without a push before the renewal; the renewal must not skip it.
    mailbox.head = '150';
    mailbox.renewAfterMs = HOUR_MS;

    await waitFor('the renewal', () => mailbox.watchCalls().length === 2, 6_000);
    await whenIdle(handle);
    expect(mailbox.watchCalls()).toEqual([false, true]);

    await notify(handle, '150');
    await waitFor('the history read', () => mailbox.historyCursors().length === 1);
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual(['100']);
    // The next renewal is an hour away: no more watch calls.
    expect(mailbox.watchCalls()).toEqual([false, true]);
  });

  it('waits out an unusable mailbox at the watch, and starts over on a subscription change', async () => {
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.watchFailure = unusableFailure('the grant was revoked');
    });
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);
    await notify(handle, '120');
    await whenIdle(handle);
    expect(await statusOf(handle)).toBe('RUNNING');
    // No retry: the failure was not retryable, and a push is no change of the grant.
    expect(mailbox.calls).toEqual([{ activity: 'gmailSyncWatch', renew: false }]);

    mailbox.watchFailure = undefined;
    mailbox.head = '120';
    await handle.signal(gmailSubscriptionsChangedSignal);
    await waitFor('the second watch', () => mailbox.watchCalls().length === 2);
    await whenIdle(handle);
    // The watch set the cursor to 120, so the earlier notification has nothing left to read.
    expect(mailbox.historyCursors()).toEqual([]);

    mailbox.head = '121';
    await notify(handle, '121');
    await waitFor('the history read', () => mailbox.historyCursors().length === 1);
    expect(mailbox.historyCursors()).toEqual(['120']);
  });

  it('waits out an unusable mailbox at the history read, and reads again after a subscription change', async () => {
    const { mailbox, handle } = await startMailbox();
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);

    mailbox.historyFailure = unusableFailure('insufficient permissions');
    mailbox.head = '101';
    await notify(handle, '101');
    await waitFor('the failed history read', () => mailbox.historyCursors().length === 1);
    await whenIdle(handle);
    mailbox.head = '102';
    await notify(handle, '102');
    await whenIdle(handle);
    expect(await statusOf(handle)).toBe('RUNNING');
    expect(mailbox.historyCursors()).toEqual(['100']);

    mailbox.historyFailure = undefined;
    await handle.signal(gmailSubscriptionsChangedSignal);
    await waitFor('the history read after the change', () => mailbox.historyCursors().length === 2);
    await whenIdle(handle);
    expect(mailbox.calls.map((call) => call.activity)).toEqual([
      'gmailSyncWatch',
      'gmailProcessHistory',
      'gmailSyncWatch',
      'gmailProcessHistory',
    ]);
    expect(mailbox.historyCursors()).toEqual(['100', '100']);
  });

  it('fails on any other non-retryable activity failure instead of taking it for an unusable mailbox', async () => {
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.watchFailure = ApplicationFailure.nonRetryable('a bug', 'TypeError');
    });
    await expect(handle.result()).rejects.toThrow();
    expect(await statusOf(handle)).toBe('FAILED');
    expect(mailbox.watchCalls()).toEqual([false]);
  });

  it('continues as new past 2000 history events, keeping its cursor and watch', async () => {
    const { mailbox, handle } = await startMailbox((fake) => {
      fake.renewAfterMs = null;
    });
    await waitFor('the first watch', () => mailbox.watchCalls().length === 1);
    const firstRunId = (await handle.describe()).runId;

    // Stale notifications: each is one more event and no work, so the history grows cheaply.
    const batch = Array.from({ length: 100 }, () => '50');
    for (let sent = 0; sent < 2_001; sent += batch.length) {
      await Promise.all(batch.map((historyId) => notify(handle, historyId)));
    }
    mailbox.head = '101';
    await notify(handle, '101');
    await waitFor('a new run', async () => (await handle.describe()).runId !== firstRunId, 15_000);
    // Stale pushes alone may end the first run before 101 arrives; then the new run reads it.
    await waitFor('the read of 101', () => mailbox.historyCursors().length === 1);

    const firstRun = env.client.workflow.getHandle(handle.workflowId, firstRunId);
    expect(await statusOf(firstRun)).toBe('CONTINUED_AS_NEW');
    expect(mailbox.historyCursors()).toEqual(['100']);

    // The new run carries the cursor (101) and does not check the watch again.
    mailbox.head = '102';
    await notify(handle, '102');
    await waitFor('a read in the new run', () => mailbox.historyCursors().length === 2);
    await whenIdle(handle);
    expect(mailbox.historyCursors()).toEqual(['100', '101']);
    expect(mailbox.watchCalls()).toEqual([false]);
  });
});
