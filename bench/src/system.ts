import { createServer, type Server } from 'node:http';
import { LaunchedSystem } from '@autoflow/local-stack';
import postgres from 'postgres';
import { cpuPerRun, cpuSnapshot } from './cpu.js';
import type { OpenLoopTarget } from './openloop.js';
import { type LatencySummary, summarize, sustained, type ThroughputResult } from './stats.js';

export interface SystemPlan {
  sequentialRuns: number;
  warmupRuns: number;
  concurrencies: readonly number[];
  seconds: number;
}

export interface RunTiming {
  /** POST → 202 from trigger-ingest (Temporal has the run). */
  accepted: number;
  /** POST → the HTTP action's request arrives at the sink. */
  sink: number;
  /** POST → the execution row says completed (seen through LISTEN/NOTIFY). */
  recorded: number;
}

export interface SystemResult {
  sequential: { accepted: LatencySummary; sink: LatencySummary; recorded: LatencySummary };
  throughput: ThroughputResult[];
}

/** Resolves a waiter per key, whichever of the waiter and the event comes first. */
export class Rendezvous<T> {
  readonly #waiters = new Map<string, (value: T) => void>();
  readonly #early = new Map<string, T>();

  wait(key: string): Promise<T> {
    const early = this.#early.get(key);
    if (early !== undefined) {
      this.#early.delete(key);
      return Promise.resolve(early);
    }
    return new Promise((resolve) => this.#waiters.set(key, resolve));
  }

  arrive(key: string, value: T): void {
    const waiter = this.#waiters.get(key);
    if (waiter) {
      this.#waiters.delete(key);
      waiter(value);
    } else {
      this.#early.set(key, value);
    }
  }
}

/**
 * The HTTP action's target: notes when each run's request arrives, keyed by what `keyPattern`'s first
 * group finds in the body, and answers 200 at once.
 */
export async function startSink(
  arrivals: Rendezvous<number>,
  keyPattern: RegExp,
): Promise<{ server: Server; hostPort: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      const key = keyPattern.exec(Buffer.concat(chunks).toString('utf8'))?.[1];
      if (key) arrivals.arrive(key, at);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, hostPort: `127.0.0.1:${port}` };
}

/**
 * Bench-only instrumentation in the bench's own database: a notification when a run's outcome is
 * recorded, keyed by the last part of its Temporal workflow id (the event id), so nothing polls.
 */
export async function listenForRecordedRuns(sql: postgres.Sql, recorded: Rendezvous<number>): Promise<void> {
  await sql.unsafe(`
    create function bench_run_done() returns trigger language plpgsql as $$
    begin perform pg_notify('bench_run_done', new.temporal_workflow_id); return new; end $$;
    create trigger bench_run_done after update of status on workflow_executions
      for each row when (new.status <> 'running') execute function bench_run_done();`);
  await sql.listen('bench_run_done', (temporalWorkflowId) => {
    recorded.arrive(temporalWorkflowId.slice(temporalWorkflowId.lastIndexOf(':') + 1), performance.now());
  });
}

export async function json(response: Response): Promise<Record<string, unknown>> {
  const body: unknown = await response.json();
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new Error('expected a JSON object');
  return Object.fromEntries(Object.entries(body));
}

export interface SystemHarness {
  launched: LaunchedSystem;
  sql: postgres.Sql;
  userId: number;
  runOnce(eventId: string): Promise<RunTiming>;
  /** The open-loop generator's view: send without waiting for the run, see arrivals at the sink. */
  openLoopTarget: OpenLoopTarget;
  /** Switches the bench's record notification (runOnce waits on it) on or off; it is on at start. */
  notifyRecordedRuns(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** api-gateway, trigger-ingest and the worker as processes; one webhook → HTTP workflow, active. */
export async function startSystemHarness(
  baseDatabaseUrl: string,
  /** The Temporal server's address, and its process for the open loop's CPU per event. */
  temporal: { address: string; pid: number | undefined },
  /** More variables for the apps (the codec-cost mode turns payload encryption off). */
  extraEnv: Record<string, string> = {},
): Promise<SystemHarness> {
  const arrivals = new Rendezvous<number>();
  const recorded = new Rendezvous<number>();
  const sink = await startSink(arrivals, /"seq":"?([\w-]+)/);
  const launched = await LaunchedSystem.launch({
    baseDatabaseUrl,
    temporalAddress: temporal.address,
    inheritedEnv: process.env,
    label: 'bench',
    apps: ['api-gateway', 'trigger-ingest', 'worker'],
    env: { HTTP_ACTION_ALLOWED_HOSTS: sink.hostPort, LOG_LEVEL: 'warn', ...extraEnv },
  });
  const sql = postgres(launched.databaseUrl, { max: 4, onnotice: () => {} });
  await listenForRecordedRuns(sql, recorded);

  const api = launched.url('api-gateway', '');
  const register = await json(
    await fetch(`${api}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.com', password: 'benchmark-password' }),
    }),
  );
  const token = String(register.token);
  const user = register.user;
  const userId = typeof user === 'object' && user !== null && 'id' in user ? Number(user.id) : 0;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const workflow = await json(
    await fetch(`${api}/api/workflows`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'bench',
        trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
        action: {
          serviceProvider: 'http',
          actionId: 'request',
          config: { url: `http://${sink.hostPort}/sink`, body: { seq: '{{trigger.body.seq}}' } },
        },
      }),
    }),
  );
  await fetch(`${api}/api/workflows/${String(workflow.id)}/activate`, {
    method: 'POST',
    headers: { authorization: headers.authorization },
  });
  const webhook = workflow.webhook;
  const hookUrl =
    typeof webhook === 'object' && webhook !== null && 'url' in webhook ? String(webhook.url) : '';

  return {
    launched,
    sql,
    userId,
    openLoopTarget: {
      acceptedStatus: 202,
      arrivals,
      processes: () => ({
        temporal: temporal.pid,
        'trigger-ingest': launched.apps.get('trigger-ingest')?.child.pid,
        worker: launched.apps.get('worker')?.child.pid,
      }),
      async runStarts(eventIds) {
        // The event id is the run's Temporal workflow id's last part; accepted_at is Temporal's start time,
        // run_started_at the worker's clock as the action began (runRecordedAction).
        const rows = await sql<{ eventId: string; acceptedAt: Date | null; runStartedAt: Date | null }[]>`
          select regexp_replace(temporal_workflow_id, '^.*:', '') as "eventId",
                 accepted_at as "acceptedAt", run_started_at as "runStartedAt"
          from workflow_executions
          where regexp_replace(temporal_workflow_id, '^.*:', '') = any(${sql.array([...eventIds])})`;
        return new Map(
          rows.flatMap(({ eventId, acceptedAt, runStartedAt }) =>
            acceptedAt && runStartedAt
              ? [[eventId, { acceptedAt: acceptedAt.getTime(), actionStartedAt: runStartedAt.getTime() }]]
              : [],
          ),
        );
      },
      async send(eventId) {
        const response = await fetch(hookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': eventId },
          body: JSON.stringify({ seq: eventId }),
        });
        await response.arrayBuffer();
        return response.status;
      },
    },
    async runOnce(eventId) {
      const atSink = arrivals.wait(eventId);
      const atRecorded = recorded.wait(eventId);
      const start = performance.now();
      const response = await fetch(hookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': eventId },
        body: JSON.stringify({ seq: eventId }),
      });
      const accepted = performance.now() - start;
      if (response.status !== 202)
        throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      const [sinkAt, recordedAt] = await Promise.all([atSink, atRecorded]);
      return { accepted, sink: sinkAt - start, recorded: recordedAt - start };
    },
    async notifyRecordedRuns(on) {
      await sql.unsafe(`alter table workflow_executions ${on ? 'enable' : 'disable'} trigger bench_run_done`);
    },
    async stop() {
      await sql.end({ timeout: 5 });
      await launched.stop();
      await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    },
  };
}

let sequence = 0;
/** Event ids unique across every phase and backend of one bench run. */
export function nextEventId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

export async function measureSystem(
  harness: SystemHarness,
  plan: SystemPlan,
  prefix: string,
  temporalPid: number | undefined,
): Promise<SystemResult> {
  const tracked = {
    temporal: temporalPid,
    'trigger-ingest': harness.launched.apps.get('trigger-ingest')?.child.pid,
    worker: harness.launched.apps.get('worker')?.child.pid,
  };
  for (let run = 0; run < plan.warmupRuns; run++) await harness.runOnce(nextEventId(`${prefix}w`));
  const timings: RunTiming[] = [];
  for (let run = 0; run < plan.sequentialRuns; run++)
    timings.push(await harness.runOnce(nextEventId(`${prefix}s`)));
  const throughput: ThroughputResult[] = [];
  for (const concurrency of plan.concurrencies) {
    const before = await cpuSnapshot(tracked);
    const result = await sustained(concurrency, plan.seconds, async () => {
      await harness.runOnce(nextEventId(`${prefix}c${concurrency}`));
    });
    throughput.push({
      ...result,
      cpuMsPerRun: cpuPerRun(before, await cpuSnapshot(tracked), result.completed),
    });
  }
  return {
    sequential: {
      accepted: summarize(timings.map((timing) => timing.accepted)),
      sink: summarize(timings.map((timing) => timing.sink)),
      recorded: summarize(timings.map((timing) => timing.recorded)),
    },
    throughput,
  };
}
