// The NOTIFY trigger of migration 0007 and a real LISTEN through postgres.js, against the real Postgres.
import { createDatabase as openDatabase, runMigrations, users, type Workflow, workflows } from '@autoflow/db';
import { createDatabase, dropDatabase } from '@autoflow/local-stack';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type LookupResult, WebhookWorkflowCache } from '../src/index.js';

const DATABASE = 'workflow_cache_notify_test';
let database: ReturnType<typeof openDatabase>;
let cache: WebhookWorkflowCache<Workflow>;
let userId: number;
const reads: string[] = [];
const lookups: LookupResult[] = [];

beforeAll(async () => {
  const url = await createDatabase(inject('databaseUrl'), DATABASE);
  await runMigrations(url);
  database = openDatabase(url);
  cache = new WebhookWorkflowCache<Workflow>({
    load: async (hookId) => {
      reads.push(hookId);
      const [row] = await database.db.select().from(workflows).where(eq(workflows.webhookId, hookId));
      return row;
    },
    notifications: database.sql,
    maxBytes: 1_000_000,
    heartbeatMs: 200,
    onLookup: (result) => lookups.push(result),
  });
  await cache.start();
  const [user] = await database.db
    .insert(users)
    .values({ email: 'cache@example.com', passwordHash: 'x' })
    .returning();
  if (!user) throw new Error('no user');
  userId = user.id;
});

afterAll(async () => {
  await cache?.stop();
  await database?.close();
  await dropDatabase(inject('databaseUrl'), DATABASE);
});

async function newHook(hookId: string): Promise<number> {
  const [row] = await database.db
    .insert(workflows)
    .values({
      userId,
      name: 'w',
      triggerProvider: 'webhook',
      triggerId: 'receive',
      actionProvider: 'http',
      actionId: 'request',
      webhookId: hookId,
      isActive: true,
    })
    .returning();
  if (!row) throw new Error('no workflow');
  return row.id;
}

const readsOf = (hookId: string) => reads.filter((read) => read === hookId).length;

/** What the cache answers once the notification of a committed change has arrived (it is asynchronous). */
async function eventually(hookId: string, expected: (row: Workflow | undefined) => boolean) {
  await expect
    .poll(async () => expected(await cache.get(hookId)), { timeout: 5_000, interval: 5 })
    .toBe(true);
}

it('serves a row from memory until an update or a delete of it commits', async () => {
  const id = await newHook('hook-update');
  expect((await cache.get('hook-update'))?.isActive).toBe(true);
  expect((await cache.get('hook-update'))?.isActive).toBe(true);
  expect(readsOf('hook-update')).toBe(1);

  await database.db.update(workflows).set({ isActive: false }).where(eq(workflows.id, id));
  await eventually('hook-update', (row) => row?.isActive === false);
  // Stays as committed, from memory again.
  const readsBefore = readsOf('hook-update');
  for (let index = 0; index < 5; index++) expect((await cache.get('hook-update'))?.isActive).toBe(false);
  expect(readsOf('hook-update')).toBe(readsBefore);

  await database.db
    .update(workflows)
    .set({ actionConfig: { url: 'https://new.test' } })
    .where(eq(workflows.id, id));
  await eventually(
    'hook-update',
    (row) => JSON.stringify(row?.actionConfig) === '{"url":"https://new.test"}',
  );

  await database.db.delete(workflows).where(eq(workflows.id, id));
  await eventually('hook-update', (row) => row === undefined);
});

it('forgets the old hook id when a row changes it, and a deleted user takes its hooks along', async () => {
  const id = await newHook('hook-old');
  await cache.get('hook-old');
  await database.db.update(workflows).set({ webhookId: 'hook-new' }).where(eq(workflows.id, id));
  await eventually('hook-old', (row) => row === undefined);
  expect((await cache.get('hook-new'))?.id).toBe(id);

  const [other] = await database.db
    .insert(users)
    .values({ email: 'leaving@example.com', passwordHash: 'x' })
    .returning();
  if (!other) throw new Error('no user');
  const [owned] = await database.db
    .insert(workflows)
    .values({
      userId: other.id,
      name: 'w',
      triggerProvider: 'webhook',
      triggerId: 'receive',
      actionProvider: 'http',
      actionId: 'request',
      webhookId: 'hook-cascade',
      isActive: true,
    })
    .returning();
  expect((await cache.get('hook-cascade'))?.id).toBe(owned?.id);
  await database.db.delete(users).where(eq(users.id, other.id));
  await eventually('hook-cascade', (row) => row === undefined);
});

it('starts afresh after Postgres drops the LISTEN connection, whatever was committed meanwhile', async () => {
  const id = await newHook('hook-reconnect');
  await cache.get('hook-reconnect');
  const hitsBefore = lookups.filter((result) => result === 'hit').length;
  expect((await cache.get('hook-reconnect'))?.isActive).toBe(true);
  expect(lookups.filter((result) => result === 'hit').length).toBe(hitsBefore + 1);

  // The listening backend is killed; the deactivation commits while postgres.js reconnects (its
  // notification is lost), and the re-LISTEN must drop the row kept before.
  const terminated = await database.sql<{ done: boolean }[]>`
    select pg_terminate_backend(pid) as done from pg_stat_activity
    where datname = current_database() and query ilike 'listen%'`;
  expect(terminated.map((row) => row.done)).toEqual([true]);
  await database.db.update(workflows).set({ isActive: false }).where(eq(workflows.id, id));
  await eventually('hook-reconnect', (row) => row?.isActive === false);
  // And the cache serves from memory again once reconnected.
  await expect
    .poll(
      async () => {
        const before = readsOf('hook-reconnect');
        await cache.get('hook-reconnect');
        return readsOf('hook-reconnect') === before;
      },
      { timeout: 5_000, interval: 20 },
    )
    .toBe(true);
});
