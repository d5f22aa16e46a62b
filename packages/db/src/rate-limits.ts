import { createHash } from 'node:crypto';
import { lte, sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { rateLimitCounters } from './schema.js';

export interface RateLimitHit {
  /** Hits of the key in its current window, this one included. */
  hits: number;
  /** Milliseconds until the window ends and the count starts again. */
  resetsInMs: number;
}

const PRUNE_INTERVAL_MS = 60_000;

/**
 * Counts one hit of `key` in its fixed window. One upsert: concurrent hits from any number of
 * processes serialize on the row, so none is lost and the window is shared by every replica.
 */
export async function hitRateLimit(db: Database, key: string, windowMs: number): Promise<RateLimitHit> {
  const expired = sql`${rateLimitCounters.resetsAt} <= now()`;
  const [row] = await db
    .insert(rateLimitCounters)
    .values({
      key: createHash('sha256').update(key).digest('hex'),
      hits: 1,
      resetsAt: sql`now() + ${windowMs}::double precision * interval '1 millisecond'`,
    })
    .onConflictDoUpdate({
      target: rateLimitCounters.key,
      set: {
        hits: sql`case when ${expired} then 1 else ${rateLimitCounters.hits} + 1 end`,
        resetsAt: sql`case when ${expired} then excluded.resets_at else ${rateLimitCounters.resetsAt} end`,
      },
    })
    .returning({
      hits: rateLimitCounters.hits,
      resetsInMs: sql<number>`greatest(0, ceil(extract(epoch from ${rateLimitCounters.resetsAt} - now()) * 1000))::int`,
    });
  if (!row) throw new Error('the rate-limit upsert returned no row');
  return row;
}

/** Deletes the counters whose window has ended; a later hit of their key starts from zero anyway. */
export async function pruneRateLimits(db: Database): Promise<void> {
  await db.delete(rateLimitCounters).where(lte(rateLimitCounters.resetsAt, sql`now()`));
}

/** The shared counter every app's limits use: hits in Postgres, expired rows pruned about once a minute. */
export function postgresRateLimitCounter(db: Database) {
  let nextPruneAt = 0;
  return {
    async hit(key: string, windowMs: number): Promise<RateLimitHit> {
      const hit = await hitRateLimit(db, key, windowMs);
      if (Date.now() >= nextPruneAt) {
        nextPruneAt = Date.now() + PRUNE_INTERVAL_MS;
        // Housekeeping only: a failed prune is retried a minute later.
        pruneRateLimits(db).catch(() => {});
      }
      return hit;
    },
  };
}
