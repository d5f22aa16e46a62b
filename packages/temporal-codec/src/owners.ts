import { credentials, type Database, workflows } from '@autoflow/db';
import { eq } from 'drizzle-orm';
import type { OwnerOf } from './codec.js';

// Which user a Temporal workflow id belongs to, from the ids workflow-contracts builds:
// `run:{workflowId}:…` (a run), `schedule:{workflowId}` and `gmail-mailbox:{credentialId}`.

export type OwnedRow = { table: 'workflows' | 'credentials'; id: number };

const PATTERNS: ReadonlyArray<[RegExp, OwnedRow['table']]> = [
  [/^run:(\d{1,10}):/, 'workflows'],
  [/^schedule:(\d{1,10})$/, 'workflows'],
  [/^gmail-mailbox:(\d{1,10})$/, 'credentials'],
];

export function ownedRowOf(temporalWorkflowId: string): OwnedRow | undefined {
  for (const [pattern, table] of PATTERNS) {
    const id = Number(pattern.exec(temporalWorkflowId)?.[1]);
    if (Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647) return { table, id };
  }
  return undefined;
}

/** Owners never change, so found owners are cached (up to `maxCached` rows, then the cache restarts). */
export function databaseOwners(db: Database, maxCached = 10_000): OwnerOf {
  const cache = new Map<string, number>();
  return async (temporalWorkflowId) => {
    const row = ownedRowOf(temporalWorkflowId);
    if (!row) return undefined;
    const key = `${row.table}:${row.id}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const table = row.table === 'workflows' ? workflows : credentials;
    const [found] = await db.select({ userId: table.userId }).from(table).where(eq(table.id, row.id));
    if (!found) return undefined;
    if (cache.size >= maxCached) cache.clear();
    cache.set(key, found.userId);
    return found.userId;
  };
}
