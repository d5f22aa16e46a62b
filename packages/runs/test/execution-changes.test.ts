// The NOTIFY trigger of migration 0006 and the LISTEN fan-out, against the real Postgres.
import {
  createDatabase as openDatabase,
  runMigrations,
  users,
  workflowExecutions,
  workflows,
} from '@autoflow/db';
import { createDatabase, dropDatabase } from '@autoflow/local-stack';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type ExecutionChange, ExecutionChanges } from '../src/index.js';

const DATABASE = 'runs_execution_changes_test';
let database: ReturnType<typeof openDatabase>;
let changes: ExecutionChanges;
let userId: number;

beforeAll(async () => {
  const url = await createDatabase(inject('databaseUrl'), DATABASE);
  await runMigrations(url);
  database = openDatabase(url);
  changes = new ExecutionChanges(database.sql);
  await changes.start();
  const [user] = await database.db
    .insert(users)
    .values({ email: 'changes@example.com', passwordHash: 'x' })
    .returning();
  if (!user) throw new Error('no user');
  userId = user.id;
});

afterAll(async () => {
  await changes?.stop();
  await database?.close();
  await dropDatabase(inject('databaseUrl'), DATABASE);
});

async function newWorkflow(): Promise<number> {
  const [row] = await database.db
    .insert(workflows)
    .values({
      userId,
      name: 'w',
      triggerProvider: 'manual',
      triggerId: 'run',
      actionProvider: 'http',
      actionId: 'request',
    })
    .returning();
  if (!row) throw new Error('no workflow');
  return row.id;
}

/** The next `count` changes a subscriber of the workflow gets. */
function nextChanges(workflowId: number, count: number): Promise<ExecutionChange[]> {
  return new Promise((resolve) => {
    const got: ExecutionChange[] = [];
    const unsubscribe = changes.subscribe(workflowId, {
      changed: (change) => {
        got.push(change);
        if (got.length === count) {
          unsubscribe();
          resolve(got);
        }
      },
      resync: () => {},
    });
  });
}

it("notifies a workflow's subscribers of every insert and update of its executions, and no one else", async () => {
  const watched = await newWorkflow();
  const other = await newWorkflow();
  const othersSeen: ExecutionChange[] = [];
  const unsubscribeOther = changes.subscribe(other, { changed: (c) => othersSeen.push(c), resync: () => {} });
  const expected = nextChanges(watched, 2);

  const [row] = await database.db
    .insert(workflowExecutions)
    .values({ workflowId: watched, userId, temporalWorkflowId: 'run:changes:1', status: 'running' })
    .returning();
  if (!row) throw new Error('no execution');
  await database.db
    .update(workflowExecutions)
    .set({ status: 'completed', completedAt: new Date() })
    .where(eq(workflowExecutions.id, row.id));

  expect(await expected).toEqual([
    { executionId: row.id, workflowId: watched },
    { executionId: row.id, workflowId: watched },
  ]);
  expect(othersSeen).toEqual([]);
  unsubscribeOther();
  expect(changes.subscribers).toBe(0);
});

it('stamps updated_at at every write, later than the row before', async () => {
  const workflowId = await newWorkflow();
  const [row] = await database.db
    .insert(workflowExecutions)
    .values({ workflowId, userId, temporalWorkflowId: 'run:changes:2', status: 'running' })
    .returning();
  if (!row) throw new Error('no execution');
  const [updated] = await database.db
    .update(workflowExecutions)
    .set({ attempts: 1 })
    .where(eq(workflowExecutions.id, row.id))
    .returning();
  expect(updated?.updatedAt.getTime()).toBeGreaterThanOrEqual(row.updatedAt.getTime());
  const [micros] = await database.sql<{ later: boolean }[]>`
    select updated_at > ${row.updatedAt.toISOString()}::timestamptz as later
    from workflow_executions where id = ${row.id}`;
  expect(micros?.later).toBe(true);
});
