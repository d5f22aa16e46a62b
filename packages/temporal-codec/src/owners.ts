import { credentials, type Database, workflows } from '@autoflow/db';
import { credentialIdOfMailbox, workflowIdOfRun, workflowIdOfSchedule } from '@autoflow/workflow-contracts';
import { eq } from 'drizzle-orm';
import type { OwnerOf } from './codec.js';

// Which user a Temporal workflow id belongs to, from the ids workflow-contracts builds:
// `run:{workflowId}:…` (a run), `schedule:{workflowId}` and `gmail-mailbox:{credentialId}`.

export type OwnedRow = { table: 'workflows' | 'credentials'; id: number };

export function ownedRowOf(temporalWorkflowId: string): OwnedRow | undefined {
  const workflowId = workflowIdOfRun(temporalWorkflowId) ?? workflowIdOfSchedule(temporalWorkflowId);
  if (workflowId !== undefined) return { table: 'workflows', id: workflowId };
  const credentialId = credentialIdOfMailbox(temporalWorkflowId);
  return credentialId === undefined ? undefined : { table: 'credentials', id: credentialId };
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
