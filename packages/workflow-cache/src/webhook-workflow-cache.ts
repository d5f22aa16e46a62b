import type { NotificationChannel } from '@autoflow/db';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

// The workflow row each webhook routes to, kept in memory. Postgres says when a row changes: a trigger on
// `workflows` (migration 0007) NOTIFYs the hook ids of every updated or deleted row at commit, to every
// listening replica. postgres.js reconnects its LISTEN by itself but does not say when the connection
// dropped, so liveness is proved instead: every replica NOTIFYs a heartbeat through its pool, and while
// none has come back lately the cache is bypassed. Postgres delivers notifications in commit order, so a
// heartbeat received proves every invalidation committed before it was received too.

/** The NOTIFY channel of the trigger, and of the heartbeats. */
export const WORKFLOW_HOOKS_CHANNEL = 'workflow_hooks';

/**
 * `hit`: from memory; `miss`: read from Postgres (and kept when found); `bypass`: read from Postgres
 * without looking, because the LISTEN is not known to be alive.
 */
export type LookupResult = 'hit' | 'miss' | 'bypass';

export interface WebhookWorkflowCacheOptions<Row extends {}> {
  /** The row with this hook id, from Postgres; undefined when none has it (never cached). */
  load(hookId: string): Promise<Row | undefined>;
  /** Where the trigger's notifications arrive, and the heartbeats are sent. */
  notifications: NotificationChannel;
  /** Memory bound: the sum of the kept rows' sizes (`sizeOf`); the least recently used go first. */
  maxBytes: number;
  /** A row's approximate size in memory. Default: the length of its JSON. */
  sizeOf?: (row: Row) => number;
  /** How often this process sends a heartbeat. Default 3 s. */
  heartbeatMs?: number;
  /** Without any heartbeat received for this long, the LISTEN is presumed lost: bypass. Default 10 s. */
  staleAfterMs?: number;
  /** Milliseconds of a monotonic clock; tests pass their own. */
  now?: () => number;
  /** Called once per lookup, for the metrics. */
  onLookup?: (result: LookupResult) => void;
  /** Called when a heartbeat could not be sent (Postgres unreachable); the cache bypasses until one is back. */
  onHeartbeatError?: (error: unknown) => void;
}

const HEARTBEAT = JSON.stringify({ heartbeat: true });

const notification = z.union([
  z.object({ hooks: z.array(z.string()) }),
  z.object({ heartbeat: z.literal(true) }),
  z.object({ all: z.literal(true) }),
]);

/**
 * Hook id → workflow row, from memory while the LISTEN is alive. A read that began before an
 * invalidation never stores its (possibly stale) row: every invalidation bumps an epoch, and a row is
 * kept only if the epoch did not move during its read. Unknown hook ids are not kept (a new hook works at
 * once, and random ids cannot fill memory).
 */
export class WebhookWorkflowCache<Row extends {}> {
  readonly #options: WebhookWorkflowCacheOptions<Row>;
  readonly #rows: LRUCache<string, Row>;
  readonly #now: () => number;
  readonly #staleAfterMs: number;
  /** Bumped by every invalidation and every (re)connection: reads that straddle one are not kept. */
  #epoch = 0;
  /** Until when the LISTEN counts as alive (the last proof of it plus staleAfterMs); 0 before the first. */
  #aliveUntil = 0;
  #listening: { unlisten(): Promise<void> } | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(options: WebhookWorkflowCacheOptions<Row>) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#staleAfterMs = options.staleAfterMs ?? 10_000;
    const sizeOf = options.sizeOf ?? ((row: Row) => JSON.stringify(row).length);
    this.#rows = new LRUCache<string, Row>({
      maxSize: options.maxBytes,
      sizeCalculation: (row) => Math.max(1, sizeOf(row)),
    });
  }

  /** LISTENs and starts the heartbeats; the cache is bypassed until the LISTEN is up. */
  async start(): Promise<void> {
    const { notifications } = this.#options;
    this.#listening = await notifications.listen(
      WORKFLOW_HOOKS_CHANNEL,
      (payload) => this.#received(payload),
      // postgres.js calls this at every (re)connection of the LISTEN: whatever was sent in a gap is lost.
      () => this.#reset(),
    );
    this.#heartbeatTimer = setInterval(() => this.#sendHeartbeat(), this.#options.heartbeatMs ?? 3_000);
    this.#heartbeatTimer.unref();
    this.#sendHeartbeat();
  }

  async stop(): Promise<void> {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    await this.#listening?.unlisten();
    this.#listening = undefined;
    this.#aliveUntil = 0;
    this.#rows.clear();
  }

  /** The row with this hook id: from memory when the LISTEN is alive and it is kept, else from Postgres. */
  async get(hookId: string): Promise<Row | undefined> {
    if (!this.#alive()) {
      this.#options.onLookup?.('bypass');
      return this.#options.load(hookId);
    }
    const kept = this.#rows.get(hookId);
    if (kept !== undefined) {
      this.#options.onLookup?.('hit');
      return kept;
    }
    this.#options.onLookup?.('miss');
    const epoch = this.#epoch;
    const row = await this.#options.load(hookId);
    if (row !== undefined && epoch === this.#epoch && this.#alive()) this.#rows.set(hookId, row);
    return row;
  }

  /** Rows kept now. */
  get size(): number {
    return this.#rows.size;
  }

  #alive(): boolean {
    return this.#now() < this.#aliveUntil;
  }

  /** Any notification proves the LISTEN alive; after a silence, what it may have missed is dropped first. */
  #received(payload: string): void {
    if (!this.#alive()) this.#reset();
    this.#aliveUntil = this.#now() + this.#staleAfterMs;
    const parsed = notification.safeParse(parse(payload));
    // Not from the trigger nor a heartbeat as this version knows them: dropping everything is safe.
    if (!parsed.success) {
      this.#reset();
      return;
    }
    const message = parsed.data;
    if ('hooks' in message) {
      this.#epoch++;
      for (const hookId of message.hooks) this.#rows.delete(hookId);
    } else if ('all' in message) this.#reset();
  }

  /** Forgets every row and every read under way, and counts the LISTEN as alive from now. */
  #reset(): void {
    this.#rows.clear();
    this.#epoch++;
    this.#aliveUntil = this.#now() + this.#staleAfterMs;
  }

  #sendHeartbeat(): void {
    Promise.resolve(this.#options.notifications.notify(WORKFLOW_HOOKS_CHANNEL, HEARTBEAT)).catch(
      (error: unknown) => this.#options.onHeartbeatError?.(error),
    );
  }
}

function parse(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}
