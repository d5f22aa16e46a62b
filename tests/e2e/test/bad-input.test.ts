import { Sink } from '@autoflow/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  answerOf,
  field,
  http,
  listOf,
  System,
  type WorkflowBody,
  waitFor,
} from '../src/system.js';

// Issue 11, items 3 (first part) and 4: bad input answers a 4xx problem+json with a `code`, never a
// 5xx, and an event that is accepted always ends as an execution.

const sink = new Sink();
let system: System;
let token: string;

beforeAll(async () => {
  await sink.start();
  system = new System({ allowedHosts: [sink.hostPort] });
  await system.start();
  ({ token } = await system.signUp());
});

afterAll(async () => {
  await system?.stop();
  await sink.stop();
});

/** Puts path parameters into the URL verbatim, so a test can send segments a browser would not encode. */
const verbatimPath = (url: string, parameters: Record<string, unknown>) =>
  url.replace(/\{(\w+)\}/g, (_, name: string) => String(parameters[name]));

function expectProblem(response: ApiResponse, status: number, code?: string) {
  expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(status);
  expect(response.contentType).toContain('application/problem+json');
  expect(field(response.body, 'code')).toEqual(code ?? expect.any(String));
}

function issuePaths(response: ApiResponse): string[] {
  return listOf(response.body, 'issues').map((issue) => {
    const path = field(issue, 'path');
    return Array.isArray(path) ? path.join('.') : '';
  });
}

function webhookToHttp(name = 'hook'): WorkflowBody {
  return {
    name,
    trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
    action: {
      serviceProvider: 'http',
      actionId: 'request',
      config: { method: 'POST', url: `${sink.baseUrl}/ok`, body: { got: '{{trigger.body.a}}' } },
    },
  };
}

function scheduled(config: Record<string, unknown>): WorkflowBody {
  return {
    name: 'scheduled',
    trigger: { serviceProvider: 'schedule', triggerId: 'cron', config },
    action: { serviceProvider: 'http', actionId: 'request', config: { url: `${sink.baseUrl}/ok` } },
  };
}

async function activeHook(name: string): Promise<{ id: number; hookUrl: string }> {
  return system.createActiveWorkflow(token, webhookToHttp(name));
}

describe('ids, cursors and paths', () => {
  it('answers 400 for an id beyond int4 on every id route', async () => {
    const client = system.client(token);
    const beyondInt4 = { params: { path: { id: 3_000_000_000 } } };
    for (const call of [
      client.GET('/api/workflows/{id}', beyondInt4),
      client.GET('/api/workflows/{id}/executions', beyondInt4),
      client.GET('/api/executions/{id}', beyondInt4),
      client.POST('/api/workflows/{id}/activate', beyondInt4),
    ]) {
      expectProblem(await answerOf(call), 400, 'validation_failed');
    }
  });

  it('answers 400 for a malformed cursor', async () => {
    const { id } = await activeHook('cursor');
    const client = system.client(token);
    for (const cursor of ['WzEuNV0', 'WyJ4IiwxXQ', 'bm90IGpzb24', 'W10', 'WzAsMCwwXQ', 'WzFlOTld']) {
      expectProblem(
        await answerOf(client.GET('/api/workflows', { params: { query: { cursor } } })),
        400,
        'validation_failed',
      );
      expectProblem(
        await answerOf(
          client.GET('/api/workflows/{id}/executions', { params: { path: { id }, query: { cursor } } }),
        ),
        400,
        'validation_failed',
      );
    }
  });

  it('answers problem+json for bad percent-encoding and long parameters, without echoing the query', async () => {
    const client = system.client(token);
    for (const segment of ['%zz', '%C0%AE', '1'.repeat(150)]) {
      const path = `/api/workflows/${segment}?secret=hunter2`;
      const response = await answerOf(
        client.GET('/api/workflows/{id}', {
          // @ts-expect-error the contract's id is a number; this is a raw segment (bad escapes, 150 digits)
          params: { path: { id: segment } },
          pathSerializer: verbatimPath,
          // a parameter the route does not declare, which the answer must not echo
          querySerializer: () => 'secret=hunter2',
        }),
      );
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(response.contentType).toContain('application/problem+json');
      expect(field(response.body, 'code')).toEqual(expect.any(String));
      expect(JSON.stringify(response.body)).not.toContain('hunter2');
    }
    for (const path of ['/hooks/%00', '/hooks/%zz?secret=hunter2', `/hooks/${'a'.repeat(200)}`]) {
      const response = await http('POST', system.url('trigger-ingest', path), { body: { a: 1 } });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(response.contentType).toContain('application/problem+json');
      expect(JSON.stringify(response.body)).not.toContain('hunter2');
    }
  });
});

describe('text Postgres cannot store', () => {
  it('refuses a name, description or config with U+0000 or a lone surrogate, naming the field', async () => {
    const cases: [WorkflowBody, string][] = [
      [{ ...webhookToHttp('a\u0000b') }, 'body.name'],
      [{ ...webhookToHttp(), description: 'x\ud800' }, 'body.description'],
      [
        {
          ...webhookToHttp(),
          action: {
            ...webhookToHttp().action,
            config: { url: `${sink.baseUrl}/ok`, body: { k: 'v\u0000' } },
          },
        },
        'body.action.config.body.k',
      ],
      [
        {
          ...webhookToHttp(),
          action: { ...webhookToHttp().action, config: { url: `${sink.baseUrl}/ok`, body: { '\udc00': 1 } } },
        },
        'body.action.config.body',
      ],
    ];
    const client = system.client(token);
    for (const [body, path] of cases) {
      const response = await answerOf(client.POST('/api/workflows', { body }));
      expectProblem(response, 400, 'validation_failed');
      expect(issuePaths(response)).toContain(path);
    }
    const { id } = await activeHook('patched');
    const workflow = { params: { path: { id } } };
    const patched = await answerOf(
      client.PATCH('/api/workflows/{id}', { ...workflow, body: { name: 'x\u0000' } }),
    );
    expectProblem(patched, 400, 'validation_failed');
    expect(issuePaths(patched)).toContain('body.name');
    const run = await answerOf(
      client.POST('/api/workflows/{id}/run', {
        ...workflow,
        body: { payload: { body: { a: '\u0000' }, headers: {}, query: {} } },
      }),
    );
    expectProblem(run, 400, 'validation_failed');
  });

  it('stores a webhook body with U+0000 and lone surrogates as U+FFFD and runs it', async () => {
    const { id, hookUrl } = await activeHook('nul body');
    const accepted = await http('POST', hookUrl, {
      rawBody: '{"a":"x\\u0000y","b":"\\ud800","c":{"\\udfff\\u0000":"z"}}',
      headers: { 'content-type': 'application/json', 'webhook-id': 'nul-1' },
    });
    expect(accepted.status).toBe(202);
    const [execution] = await waitFor(
      'the run of the NUL body',
      async () => {
        const executions = await system.executions(token, id);
        return executions.some((execution) => field(execution, 'status') === 'completed')
          ? executions
          : undefined;
      },
      30_000,
      200,
    );
    expect(field(execution, 'triggerData', 'body')).toEqual({
      a: 'x\ufffdy',
      b: '\ufffd',
      c: { '\ufffd\ufffd': 'z' },
    });
    expect(sink.forPath('/ok').at(-1)?.body).toEqual({ got: 'x\ufffdy' });
  });
});

describe('answers Postgres cannot store', () => {
  it('records a target answer and an error holding U+0000 or a lone surrogate as U+FFFD', async () => {
    for (const [path, status] of [
      ['/unstorable', 'completed'],
      ['/unstorable-error', 'failed'],
    ] as const) {
      const { id, hookUrl } = await system.createActiveWorkflow(token, {
        name: `answer ${path}`,
        trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
        action: { serviceProvider: 'http', actionId: 'request', config: { url: `${sink.baseUrl}${path}` } },
      });
      const accepted = await http('POST', hookUrl, { body: {}, headers: { 'webhook-id': `answer-${id}` } });
      expect(accepted.status).toBe(202);
      const [execution] = await waitFor(`the ${status} run of ${path}`, async () => {
        const executions = await system.executions(token, id);
        return executions.some((execution) => field(execution, 'status') === status) ? executions : undefined;
      });
      if (status === 'completed') {
        expect(field(execution, 'actionResult', 'body')).toEqual({ text: 'x\ufffdy', lone: '\ufffd' });
      } else {
        expect(String(field(execution, 'errorMessage'))).toContain('bad\ufffdrequest');
      }
    }
  });
});

describe('depth and size', () => {
  const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('refuses a config nested 20,000 deep, and one past MAX_JSON_DEPTH, with 400', async () => {
    const client = system.client(token);
    const marker = 'the deep value';
    const body = webhookToHttp('deep');
    body.action.config = { url: `${sink.baseUrl}/ok`, body: marker };
    for (const depth of [20_000, 65]) {
      // A typed body whose marker the serializer replaces with the nested JSON as raw text (building a
      // 20,000-deep object only to have JSON.stringify recurse through it would test the test).
      const response = await answerOf(
        client.POST('/api/workflows', {
          body,
          bodySerializer: (typed) => JSON.stringify(typed).replace(JSON.stringify(marker), deep(depth)),
        }),
      );
      expectProblem(response, 400, 'validation_failed');
    }
  });

  it('refuses a saved config over 64 KiB', async () => {
    const body = { ...webhookToHttp(), action: { ...webhookToHttp().action } };
    body.action.config = { ...body.action.config, body: { got: 'x'.repeat(70 * 1024) } };
    const response = await answerOf(system.client(token).POST('/api/workflows', { body }));
    expectProblem(response, 400, 'validation_failed');
    expect(issuePaths(response)).toContain('action.config');
  });

  it('refuses a webhook body nested deeper than MAX_JSON_DEPTH with 400', async () => {
    const { id, hookUrl } = await activeHook('deep body');
    for (const depth of [20_000, 65]) {
      const response = await http('POST', hookUrl, {
        rawBody: deep(depth),
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(response, 400);
    }
    expect(await system.executions(token, id)).toHaveLength(0);
  });
});

describe('schedules', () => {
  it('refuses a bad cron, time zone or interval at save', async () => {
    for (const config of [
      { cron: 'not a cron at all' },
      { cron: '61 * * * *' },
      { cron: '0 9 * * 1-5', timezone: 'Nope/Zone' },
      { cron: '0 9 * * 1-5', timezone: 'europe/paris' },
      { every: '0s' },
      { every: '0m' },
      { every: '99999999999999d' },
    ]) {
      const response = await answerOf(
        system.client(token).POST('/api/workflows', { body: scheduled(config) }),
      );
      expectProblem(response, 400, 'validation_failed');
      expect(issuePaths(response).some((path) => path.startsWith('trigger.config'))).toBe(true);
    }
  });

  it('refuses to activate a schedule saved before the rule with 422, not 503 forever', async () => {
    const { id } = await system.createWorkflow(token, scheduled({ every: '1h' }));
    await system.sql`update workflows set trigger_config = ${system.sql.json({ cron: 'not a cron at all' })} where id = ${id}`;
    const activated = await answerOf(
      system.client(token).POST('/api/workflows/{id}/activate', { params: { path: { id } } }),
    );
    expectProblem(activated, 422, 'workflow_not_runnable');
    expect(issuePaths(activated).some((path) => path.startsWith('trigger.config'))).toBe(true);
  });

  it('saves and activates a valid cron with a time zone', async () => {
    const { id } = await system.createActiveWorkflow(
      token,
      scheduled({ cron: '0 9 * * 1-5', timezone: 'Europe/Paris' }),
    );
    const deleted = await system.client(token).DELETE('/api/workflows/{id}', { params: { path: { id } } });
    expect(deleted.response.status).toBe(204);
  });
});

describe('an event for an action that is no longer installed', () => {
  it('answers 422 action_unavailable and records a failed execution with the reason', async () => {
    const { id, hookUrl } = await activeHook('orphan');
    await system.sql`update workflows set action_provider = 'uninstalled' where id = ${id}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await http('POST', hookUrl, { body: { a: 1 }, headers: { 'webhook-id': 'gone-1' } });
      expectProblem(response, 422, 'action_unavailable');
    }
    const executions = await system.executions(token, id);
    expect(executions).toHaveLength(1);
    expect(field(executions[0], 'status')).toBe('failed');
    expect(String(field(executions[0], 'errorMessage'))).toContain('uninstalled.request is not installed');

    const manual = await answerOf(
      system.client(token).POST('/api/workflows/{id}/run', { params: { path: { id } }, body: {} }),
    );
    expectProblem(manual, 422, 'action_unavailable');
    expect(await system.executions(token, id)).toHaveLength(2);
  });
});
