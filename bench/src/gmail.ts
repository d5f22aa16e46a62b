import { createServer, type Server } from 'node:http';
import { Keyring } from '@autoflow/crypto';
import { FakeGmail, FakePubSubPush } from '@autoflow/fakes';
import { LaunchedSystem } from '@autoflow/local-stack';
import postgres from 'postgres';
import { type LatencySummary, summarize } from './stats.js';

// The Gmail path: a mail lands in the (fake) mailbox, its Pub/Sub push reaches trigger-ingest, the
// mailbox workflow reads the history and starts the run, whose HTTP action reaches a sink and whose
// outcome is recorded. Google's side is the local fakes the tests use; Postgres and Temporal are real.

export interface GmailResult {
  /** Push → 204 from trigger-ingest (the mailbox workflow has the signal). */
  accepted: LatencySummary;
  /** Push → the run's HTTP request at the sink. */
  sink: LatencySummary;
  /** Push → the execution row says completed. */
  recorded: LatencySummary;
  /** Gmail quota units the trigger spent per mail (history.list + messages.get). */
  quotaUnitsPerMail: number;
}

const AUDIENCE = 'https://bench.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@bench.iam.gserviceaccount.com';
const MAILBOX = 'bench@gmail.test';

/** Resolves the waiter of a key when its event arrives, whichever comes first. */
class Arrivals {
  readonly #waiters = new Map<string, (at: number) => void>();
  readonly #early = new Map<string, number>();

  wait(key: string): Promise<number> {
    const early = this.#early.get(key);
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve) => this.#waiters.set(key, resolve));
  }

  arrive(key: string, at: number): void {
    const waiter = this.#waiters.get(key);
    if (waiter) waiter(at);
    else this.#early.set(key, at);
  }
}

async function startSink(arrivals: Arrivals): Promise<{ server: Server; hostPort: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const match = /"mail":"([\w-]+)"/.exec(Buffer.concat(chunks).toString('utf8'));
      if (match?.[1]) arrivals.arrive(match[1], performance.now());
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, hostPort: `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

async function postJson(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const parsed: unknown = await response.json();
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`expected a JSON object from ${url}`);
  return Object.fromEntries(Object.entries(parsed));
}

/** Measures `runs` mails one after the other (a mailbox is served in order), after `warmup` more. */
export async function measureGmail(
  baseDatabaseUrl: string,
  temporalAddress: string,
  plan: { sequentialRuns: number; warmupRuns: number },
): Promise<GmailResult> {
  const gmail = new FakeGmail();
  const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
  const atSink = new Arrivals();
  const atRecorded = new Arrivals();
  await Promise.all([gmail.start(), pubsub.start()]);
  const sink = await startSink(atSink);
  const launched = await LaunchedSystem.launch({
    baseDatabaseUrl,
    temporalAddress,
    label: 'benchgmail',
    apps: ['api-gateway', 'trigger-ingest', 'worker'],
    env: {
      HTTP_ACTION_ALLOWED_HOSTS: sink.hostPort,
      LOG_LEVEL: 'warn',
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/bench/topics/gmail-push',
      PUBSUB_PUSH_AUDIENCE: AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
    },
  });
  const sql = postgres(launched.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    await sql.unsafe(`
      create function bench_run_done() returns trigger language plpgsql as $$
      begin perform pg_notify('bench_run_done', new.temporal_workflow_id); return new; end $$;
      create trigger bench_run_done after update of status on workflow_executions
        for each row when (new.status <> 'running') execute function bench_run_done();`);
    await sql.listen('bench_run_done', (temporalWorkflowId) => {
      // run:{workflowId}:event:{gmailMessageId}
      atRecorded.arrive(temporalWorkflowId.slice(temporalWorkflowId.lastIndexOf(':') + 1), performance.now());
    });

    const api = launched.url('api-gateway', '');
    const registered = await postJson(`${api}/api/auth/register`, {
      email: 'gmail-bench@example.com',
      password: 'benchmark-password',
    });
    const token = String(registered.token);
    const user = registered.user;
    const userId = typeof user === 'object' && user !== null && 'id' in user ? Number(user.id) : 0;

    // A connected mailbox, sealed as oauth-service would seal it.
    gmail.addMailbox(MAILBOX);
    gmail.grant('bench-access-token', MAILBOX);
    const [credential] = await sql<{ id: number }[]>`
      insert into credentials (user_id, service_provider, credential_type, name)
      values (${userId}, 'gmail', 'oauth2', 'bench mailbox') returning id`;
    const credentialId = credential?.id ?? 0;
    const sealed = Keyring.fromEnv(launched.env.ENCRYPTION_KEYS, undefined).encrypt('bench-access-token', {
      table: 'credentials',
      column: 'access_token',
      row: credentialId,
    });
    await sql`update credentials set access_token = ${sealed} where id = ${credentialId}`;

    const workflow = await postJson(
      `${api}/api/workflows`,
      {
        name: 'gmail bench',
        trigger: {
          serviceProvider: 'gmail',
          triggerId: 'receive-email',
          config: {},
          credentialsId: credentialId,
        },
        action: {
          serviceProvider: 'http',
          actionId: 'request',
          config: { url: `http://${sink.hostPort}/sink`, body: { mail: '{{trigger.id}}' } },
        },
      },
      token,
    );
    await postJson(`${api}/api/workflows/${String(workflow.id)}/activate`, {}, token);
    const deadline = Date.now() + 30_000;
    while (gmail.watchCalls.length === 0 || (await sql`select 1 from trigger_listeners`).length === 0) {
      if (Date.now() > deadline) throw new Error('the mailbox was not watched');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const pushUrl = launched.url('trigger-ingest', '/pubsub/gmail');
    const readUnitsBefore = () =>
      gmail.calls
        .filter((call) => call.method === 'history.list' || call.method === 'messages.get')
        .reduce((sum, call) => sum + call.units, 0);
    const samples: { accepted: number; sink: number; recorded: number }[] = [];
    let units = 0;
    for (let run = 0; run < plan.warmupRuns + plan.sequentialRuns; run++) {
      const unitsAtStart = readUnitsBefore();
      const mail = gmail.deliver(MAILBOX, {
        from: 'sender@example.com',
        to: MAILBOX,
        subject: `mail ${run}`,
      });
      const sinkAt = atSink.wait(mail.id);
      const recordedAt = atRecorded.wait(mail.id);
      const start = performance.now();
      const answer = await pubsub.push(pushUrl, { emailAddress: MAILBOX, historyId: mail.historyId });
      const accepted = performance.now() - start;
      if (answer.status !== 204) throw new Error(`the push answered ${answer.status}: ${answer.body}`);
      const [sinkTime, recordedTime] = await Promise.all([sinkAt, recordedAt]);
      if (run >= plan.warmupRuns) {
        samples.push({ accepted, sink: sinkTime - start, recorded: recordedTime - start });
        units += readUnitsBefore() - unitsAtStart;
      }
    }
    return {
      accepted: summarize(samples.map((sample) => sample.accepted)),
      sink: summarize(samples.map((sample) => sample.sink)),
      recorded: summarize(samples.map((sample) => sample.recorded)),
      quotaUnitsPerMail: units / Math.max(1, samples.length),
    };
  } finally {
    await sql.end({ timeout: 5 });
    await launched.stop();
    await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    await Promise.all([gmail.stop(), pubsub.stop()]);
  }
}
