import { afterAll, beforeAll, expect, it } from 'vitest';
import { System } from '../src/system.js';

// Issue 11, item 5: every list returns every row exactly once, whatever the page size, even when
// hundreds of rows share a millisecond (Postgres keeps microseconds).

let system: System;
let token: string;
let userId: number;

beforeAll(async () => {
  system = new System({ allowedHosts: [] });
  await system.start();
  ({ token, userId } = await system.signUp());
});

afterAll(async () => {
  await system?.stop();
});

/** Every id of a list (a workflow's executions, or the workflows), following nextCursor. */
async function pageThrough(list: { workflowId: number } | 'workflows', limit: number): Promise<number[]> {
  const client = system.client(token);
  const ids: number[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const query = { limit, ...(cursor ? { cursor } : {}) };
    const { data, error, response } =
      list === 'workflows'
        ? await client.GET('/api/workflows', { params: { query } })
        : await client.GET('/api/workflows/{id}/executions', {
            params: { path: { id: list.workflowId }, query },
          });
    expect(response.status, JSON.stringify(error)).toBe(200);
    ids.push(...(data?.items ?? []).map((item) => item.id));
    cursor = data?.nextCursor ?? undefined;
    if (!cursor) return ids;
  }
  throw new Error('the list never ended');
}

async function createWorkflow(name: string): Promise<number> {
  const created = await system.createWorkflow(token, {
    name,
    trigger: { serviceProvider: 'manual', triggerId: 'run', config: {} },
    action: { serviceProvider: 'http', actionId: 'request', config: { url: 'https://example.com/' } },
  });
  return created.id;
}

it('lists 405 executions that share milliseconds exactly once at every page size', async () => {
  const workflowId = await createWorkflow('many runs');
  // 405 rows over 4 milliseconds, each microsecond-distinct, plus ties on the same microsecond.
  await system.sql`
    insert into workflow_executions (workflow_id, user_id, temporal_workflow_id, status, started_at)
    select ${workflowId}, ${userId}, 'run:' || ${workflowId} || ':manual:row-' || n, 'completed',
           timestamptz '2026-03-01 12:00:00.123000+00' + ((n % 4) * interval '1 millisecond')
             + ((n % 97) * interval '1 microsecond')
    from generate_series(1, 405) as n`;
  const expected = (
    await system.sql<{ id: number }[]>`
      select id from workflow_executions where workflow_id = ${workflowId} order by started_at desc, id desc`
  ).map((row) => row.id);
  expect(expected).toHaveLength(405);

  for (const limit of [100, 10, 7, 1]) {
    const listed = await pageThrough({ workflowId }, limit);
    expect(listed, `limit=${limit}`).toEqual(expected);
  }
});

it('lists every workflow exactly once at every page size', async () => {
  for (let index = 0; index < 30; index++) await createWorkflow(`workflow ${index}`);
  const expected = (
    await system.sql<{ id: number }[]>`select id from workflows where user_id = ${userId} order by id desc`
  ).map((row) => row.id);
  for (const limit of [100, 7, 1]) {
    expect(await pageThrough('workflows', limit), `limit=${limit}`).toEqual(expected);
  }
});
