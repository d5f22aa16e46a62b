// The cache's rules with a loader that counts its reads, a notification source the test drives and a
// clock it moves. The trigger and a real LISTEN are tested in notify-trigger.test.ts.
import type { NotificationChannel } from '@autoflow/db';
import { describe, expect, it } from 'vitest';
import { type LookupResult, WebhookWorkflowCache, WORKFLOW_HOOKS_CHANNEL } from '../src/index.js';

interface Row {
  hookId: string;
  isActive: boolean;
  version: number;
}

/** A LISTEN the test drives: `send` delivers a notification, `reconnect` is postgres.js' re-LISTEN. */
class FakeNotifications implements NotificationChannel {
  onMessage: ((payload: string) => void) | undefined;
  onListen: (() => void) | undefined;
  heartbeatsSent = 0;
  heartbeatFails = false;
  unlistened = false;

  async listen(channel: string, onMessage: (payload: string) => void, onListen?: () => void) {
    expect(channel).toBe(WORKFLOW_HOOKS_CHANNEL);
    this.onMessage = onMessage;
    this.onListen = onListen;
    onListen?.();
    return {
      unlisten: async () => {
        this.unlistened = true;
      },
    };
  }

  async notify(channel: string, payload: string) {
    expect(channel).toBe(WORKFLOW_HOOKS_CHANNEL);
    expect(JSON.parse(payload)).toEqual({ heartbeat: true });
    this.heartbeatsSent++;
    if (this.heartbeatFails) throw new Error('connection refused');
  }

  send(message: unknown) {
    this.onMessage?.(typeof message === 'string' ? message : JSON.stringify(message));
  }

  invalidate(...hooks: string[]) {
    this.send({ hooks });
  }

  heartbeat() {
    this.send({ heartbeat: true });
  }

  reconnect() {
    this.onListen?.();
  }
}

/** Postgres as far as the cache sees it: rows by hook id, and how often each was read. */
class FakeTable {
  readonly rows = new Map<string, Row>();
  readonly reads: string[] = [];
  /** When set, the next read waits for this promise before answering what the table held when it began. */
  hold: Promise<void> | undefined;

  put(hookId: string, isActive = true): Row {
    const row = { hookId, isActive, version: (this.rows.get(hookId)?.version ?? 0) + 1 };
    this.rows.set(hookId, row);
    return row;
  }

  load = async (hookId: string): Promise<Row | undefined> => {
    this.reads.push(hookId);
    const row = this.rows.get(hookId);
    const hold = this.hold;
    this.hold = undefined;
    if (hold) await hold;
    return row;
  };

  readsOf(hookId: string): number {
    return this.reads.filter((read) => read === hookId).length;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

async function setup(options: { maxBytes?: number; sizeOf?: (row: Row) => number; start?: boolean } = {}) {
  const table = new FakeTable();
  const notifications = new FakeNotifications();
  const clock = { now: 1_000 };
  const lookups: LookupResult[] = [];
  const heartbeatErrors: unknown[] = [];
  const cache = new WebhookWorkflowCache<Row>({
    load: table.load,
    notifications,
    maxBytes: options.maxBytes ?? 1_000_000,
    ...(options.sizeOf ? { sizeOf: options.sizeOf } : {}),
    // The test sends heartbeats itself; the timer never fires within a test.
    heartbeatMs: 3_600_000,
    staleAfterMs: 10_000,
    now: () => clock.now,
    onLookup: (result) => lookups.push(result),
    onHeartbeatError: (error) => heartbeatErrors.push(error),
  });
  if (options.start ?? true) await cache.start();
  return { cache, table, notifications, clock, lookups, heartbeatErrors };
}

describe('WebhookWorkflowCache', () => {
  it('reads a known hook once, then answers it from memory', async () => {
    const { cache, table, lookups } = await setup();
    const row = table.put('hook-a');
    expect(await cache.get('hook-a')).toEqual(row);
    expect(await cache.get('hook-a')).toEqual(row);
    expect(await cache.get('hook-a')).toEqual(row);
    expect(table.readsOf('hook-a')).toBe(1);
    expect(lookups).toEqual(['miss', 'hit', 'hit']);
    await cache.stop();
  });

  it('never keeps an unknown hook: it is read every time, and works as soon as it exists', async () => {
    const { cache, table, lookups } = await setup();
    expect(await cache.get('new-hook')).toBeUndefined();
    expect(await cache.get('new-hook')).toBeUndefined();
    const row = table.put('new-hook');
    expect(await cache.get('new-hook')).toEqual(row);
    expect(table.readsOf('new-hook')).toBe(3);
    expect(lookups).toEqual(['miss', 'miss', 'miss']);
    expect(cache.size).toBe(1);
    await cache.stop();
  });

  it('reads again a hook whose row a notification names, and only that one', async () => {
    const { cache, table, notifications } = await setup();
    table.put('hook-a');
    table.put('hook-b');
    await cache.get('hook-a');
    await cache.get('hook-b');
    const deactivated = table.put('hook-a', false);
    notifications.invalidate('hook-a');
    expect(await cache.get('hook-a')).toEqual(deactivated);
    await cache.get('hook-b');
    expect(table.readsOf('hook-a')).toBe(2);
    expect(table.readsOf('hook-b')).toBe(1);

    // Deleted: the notification names it, and the next read finds nothing (which is not kept).
    table.rows.delete('hook-b');
    notifications.invalidate('hook-b');
    expect(await cache.get('hook-b')).toBeUndefined();
    expect(await cache.get('hook-b')).toBeUndefined();
    expect(table.readsOf('hook-b')).toBe(3);
    await cache.stop();
  });

  it('does not keep a row whose read began before an invalidation', async () => {
    const { cache, table, notifications, lookups } = await setup();
    const active = table.put('hook-a');
    const gate = deferred();
    table.hold = gate.promise;
    // The read sees the active row; the deactivation commits and is notified before the read answers.
    const reading = cache.get('hook-a');
    const inactive = table.put('hook-a', false);
    notifications.invalidate('hook-a');
    gate.resolve();
    expect(await reading).toEqual(active);
    // The stale row was not kept: the next lookup reads the committed one, and keeps that.
    expect(await cache.get('hook-a')).toEqual(inactive);
    expect(await cache.get('hook-a')).toEqual(inactive);
    expect(table.readsOf('hook-a')).toBe(2);
    expect(lookups).toEqual(['miss', 'miss', 'hit']);
    await cache.stop();
  });

  it('forgets everything at a reconnection of the LISTEN, and what was being read across it', async () => {
    const { cache, table, notifications } = await setup();
    table.put('hook-a');
    table.put('hook-b');
    await cache.get('hook-a');
    const gate = deferred();
    table.hold = gate.promise;
    const reading = cache.get('hook-b');
    // The connection dropped and came back: notifications sent in between are lost.
    const changed = table.put('hook-a', false);
    notifications.reconnect();
    gate.resolve();
    await reading;
    expect(cache.size).toBe(0);
    expect(await cache.get('hook-a')).toEqual(changed);
    await cache.get('hook-b');
    expect(table.readsOf('hook-a')).toBe(2);
    expect(table.readsOf('hook-b')).toBe(2);
    await cache.stop();
  });

  it('reads through while no heartbeat came back lately, and starts afresh with the next one', async () => {
    const { cache, table, notifications, clock, lookups } = await setup();
    table.put('hook-a');
    await cache.get('hook-a');
    clock.now += 9_000;
    notifications.heartbeat();
    clock.now += 9_000;
    expect(await cache.get('hook-a')).toBeDefined();
    expect(lookups).toEqual(['miss', 'hit']);

    // Silence past staleAfterMs: the LISTEN may be gone without postgres.js noticing yet.
    clock.now += 1_001;
    const changed = table.put('hook-a', false);
    expect(await cache.get('hook-a')).toEqual(changed);
    expect(await cache.get('hook-a')).toEqual(changed);
    expect(lookups.slice(2)).toEqual(['bypass', 'bypass']);

    // A heartbeat is back: what was kept before the silence is dropped, not served.
    notifications.heartbeat();
    table.put('hook-a', true);
    expect((await cache.get('hook-a'))?.isActive).toBe(true);
    expect((await cache.get('hook-a'))?.isActive).toBe(true);
    expect(lookups.slice(4)).toEqual(['miss', 'hit']);
    expect(table.readsOf('hook-a')).toBe(4);
    await cache.stop();
  });

  it('does not keep a read that began before a silence and ended after it', async () => {
    const { cache, table, clock } = await setup();
    table.put('hook-a');
    const gate = deferred();
    table.hold = gate.promise;
    const reading = cache.get('hook-a');
    clock.now += 10_001;
    gate.resolve();
    await reading;
    expect(cache.size).toBe(0);
    await cache.stop();
  });

  it('reads through before the LISTEN is up and after stop', async () => {
    const { cache, table, lookups } = await setup({ start: false });
    table.put('hook-a');
    await cache.get('hook-a');
    await cache.start();
    await cache.get('hook-a');
    await cache.get('hook-a');
    await cache.stop();
    await cache.get('hook-a');
    expect(lookups).toEqual(['bypass', 'miss', 'hit', 'bypass']);
    expect(table.readsOf('hook-a')).toBe(3);
  });

  it('sends a heartbeat at start, reports one that fails, and unlistens at stop', async () => {
    const { cache, notifications, heartbeatErrors } = await setup({ start: false });
    notifications.heartbeatFails = true;
    await cache.start();
    expect(notifications.heartbeatsSent).toBe(1);
    await expect.poll(() => heartbeatErrors.length).toBe(1);
    await cache.stop();
    expect(notifications.unlistened).toBe(true);
  });

  it('drops everything for a TRUNCATE and for a notification it cannot read', async () => {
    const { cache, table, notifications } = await setup();
    table.put('hook-a');
    await cache.get('hook-a');
    notifications.send({ all: true });
    expect(cache.size).toBe(0);
    await cache.get('hook-a');
    expect(cache.size).toBe(1);
    notifications.send('not json');
    expect(cache.size).toBe(0);
    await cache.get('hook-a');
    notifications.send({ hooks: 'hook-a' });
    expect(cache.size).toBe(0);
    await cache.stop();
  });

  it('keeps rows within maxBytes, dropping the least recently used', async () => {
    const { cache, table, lookups } = await setup({ maxBytes: 300, sizeOf: () => 100 });
    for (const hookId of ['a', 'b', 'c']) {
      table.put(hookId);
      await cache.get(hookId);
    }
    await cache.get('a');
    table.put('d');
    await cache.get('d');
    expect(cache.size).toBe(3);
    await cache.get('a');
    await cache.get('b');
    expect(lookups).toEqual(['miss', 'miss', 'miss', 'hit', 'miss', 'hit', 'miss']);
    expect(table.readsOf('b')).toBe(2);
    await cache.stop();
  });
});
