import { FakeGmail, FakePubSubPush } from '@autoflow/fakes';
import { freePort, LaunchedSystem } from '@autoflow/local-stack';
import postgres from 'postgres';
import { type LatencySummary, summarize } from './stats.js';
import { json, listenForRecordedRuns, Rendezvous, startSink } from './system.js';

// The Gmail path: a mail lands in the (fake) mailbox, its Pub/Sub push reaches trigger-ingest, the
// mailbox workflow reads the history and starts the run, whose HTTP action reaches a sink and whose
// outcome is recorded. Google's side is the local fakes the tests use; Postgres and Temporal are real.

/** One mail, measured from its push. */
export interface MailTiming {
  /** Push → 204 from trigger-ingest (the mailbox workflow has the signal). */
  accepted: number;
  /** Push → the run's HTTP request at the sink. */
  sink: number;
  /** Push → the execution row says completed. */
  recorded: number;
  /** Pushes answered 5xx and sent again, as Pub/Sub redelivers them; the timings start at the first. */
  redeliveries: number;
}

export interface MailLatencies {
  accepted: LatencySummary;
  sink: LatencySummary;
  recorded: LatencySummary;
}

export interface GmailResult extends MailLatencies {
  /** Gmail quota units the trigger spent per mail (history.list + messages.get). */
  quotaUnitsPerMail: number;
}

export interface MailboxOwner {
  userId: number;
  /** The owner's session (bearer token) for api-gateway. */
  token: string;
}

/** The apps over their own database and namespace, with a fake Gmail and a Pub/Sub push sender. */
export interface GmailHarness {
  gmail: FakeGmail;
  launched: LaunchedSystem;
  sql: postgres.Sql;
  /** api-gateway's base URL. */
  api: string;
  /** Where the worker's Temporal SDK serves its Prometheus metrics. */
  workerSdkMetricsUrl: string;
  /**
   * Gives `owner` a connected Gmail credential for a new mailbox `address` and an active receive-email
   * → HTTP workflow on it, through the API (activation starts the mailbox workflow). Answers the
   * credential's id.
   */
  connectMailbox(owner: MailboxOwner, address: string): Promise<number>;
  /** Resolves once `count` mailboxes are watched (their mailbox workflows ran their first watch). */
  waitUntilWatched(count: number, timeoutMs: number): Promise<void>;
  /** Delivers one mail to `address`, pushes its notification and waits until its run is recorded. */
  mailOnce(address: string): Promise<MailTiming>;
  stop(): Promise<void>;
}

const AUDIENCE = 'https://bench.autoflow.test/pubsub/gmail';
const PUSH_ACCOUNT = 'gmail-push@bench.iam.gserviceaccount.com';

async function postJson(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
  return json(response);
}

/** A user registered through the API, as a person signs up. */
export async function registerUser(api: string, email: string): Promise<MailboxOwner> {
  const registered = await postJson(`${api}/api/auth/register`, { email, password: 'benchmark-password' });
  const user = registered.user;
  const userId = typeof user === 'object' && user !== null && 'id' in user ? Number(user.id) : 0;
  return { userId, token: String(registered.token) };
}

export function summarizeMails(samples: readonly MailTiming[]): MailLatencies {
  return {
    accepted: summarize(samples.map((sample) => sample.accepted)),
    sink: summarize(samples.map((sample) => sample.sink)),
    recorded: summarize(samples.map((sample) => sample.recorded)),
  };
}

export async function startGmailHarness(
  baseDatabaseUrl: string,
  temporalAddress: string,
  options: {
    /** Prefix of the database and namespace names. */
    label: string;
  },
): Promise<GmailHarness> {
  const gmail = new FakeGmail();
  const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
  const atSink = new Rendezvous<number>();
  const atRecorded = new Rendezvous<number>();
  await Promise.all([gmail.start(), pubsub.start()]);
  const sink = await startSink(atSink, /"mail":"([\w-]+)"/);
  // The worker serves its SDK metrics, as in production; the bench reads the workflow cache's from it.
  const sdkMetricsAddress = `127.0.0.1:${await freePort()}`;
  const stopOutside = async () => {
    await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    await Promise.all([gmail.stop(), pubsub.stop()]);
  };
  let launched: LaunchedSystem;
  // The apps log at warn and above here: the first lines of each go to the bench's log, so that a refusal
  // (a 503, say) comes with its reason.
  const linesShown = new Map<string, number>();
  const showLine = (app: string, line: string) => {
    const shown = linesShown.get(app) ?? 0;
    if (shown >= 20) return;
    linesShown.set(app, shown + 1);
    console.error(`[${app}] ${line.slice(0, 600)}`);
  };
  try {
    launched = await LaunchedSystem.launch({
      baseDatabaseUrl,
      temporalAddress,
      inheritedEnv: process.env,
      label: options.label,
      onLine: showLine,
      apps: ['api-gateway', 'trigger-ingest', 'worker'],
      env: {
        HTTP_ACTION_ALLOWED_HOSTS: sink.hostPort,
        LOG_LEVEL: 'warn',
        GMAIL_API_ROOT_URL: gmail.rootUrl,
        GMAIL_PUBSUB_TOPIC: 'projects/bench/topics/gmail-push',
        PUBSUB_PUSH_AUDIENCE: AUDIENCE,
        PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
        PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
        // Only the worker reads it.
        TEMPORAL_METRICS_BIND_ADDRESS: sdkMetricsAddress,
      },
    });
  } catch (error) {
    await stopOutside();
    throw error;
  }
  const sql = postgres(launched.databaseUrl, { max: 4, onnotice: () => {} });
  // Runs' workflow ids end with the Gmail message id: run:{workflowId}:event:{gmailMessageId}.
  await listenForRecordedRuns(sql, atRecorded);
  const api = launched.url('api-gateway', '');
  const pushUrl = launched.url('trigger-ingest', '/pubsub/gmail');

  return {
    gmail,
    launched,
    sql,
    api,
    workerSdkMetricsUrl: `http://${sdkMetricsAddress}/metrics`,
    async connectMailbox(owner, address) {
      gmail.addMailbox(address);
      const accessToken = `bench-access-token-${address}`;
      gmail.grant(accessToken, address);
      const credentialId = await launched.insertConnectedCredential(sql, {
        userId: owner.userId,
        provider: 'gmail',
        accessToken,
      });
      const workflow = await postJson(
        `${api}/api/workflows`,
        {
          name: `mail from ${address}`,
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
        owner.token,
      );
      await postJson(`${api}/api/workflows/${String(workflow.id)}/activate`, {}, owner.token);
      return credentialId;
    },
    async waitUntilWatched(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await sql<{ watched: number }[]>`
          select count(*)::int as watched from trigger_listeners where watched_at is not null`;
        if ((row?.watched ?? 0) >= count) return;
        if (Date.now() > deadline)
          throw new Error(`only ${row?.watched ?? 0} of ${count} mailboxes were watched`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async mailOnce(address) {
      const mail = gmail.deliver(address, { from: 'sender@example.com', to: address, subject: 'bench mail' });
      const sinkAt = atSink.wait(mail.id);
      const recordedAt = atRecorded.wait(mail.id);
      const start = performance.now();
      let redeliveries = 0;
      let answer = await pubsub.push(pushUrl, { emailAddress: address, historyId: mail.historyId });
      // A 5xx asks the sender to redeliver (trigger-ingest's 503 when Temporal did not take the signal):
      // Pub/Sub does, with a backoff, and so does the bench, counting it.
      while (answer.status >= 500 && redeliveries < 8) {
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** redeliveries));
        redeliveries++;
        answer = await pubsub.push(pushUrl, { emailAddress: address, historyId: mail.historyId });
      }
      const accepted = performance.now() - start;
      if (answer.status !== 204) throw new Error(`the push answered ${answer.status}: ${answer.body}`);
      const [sinkTime, recordedTime] = await Promise.all([sinkAt, recordedAt]);
      return { accepted, sink: sinkTime - start, recorded: recordedTime - start, redeliveries };
    },
    async stop() {
      await sql.end({ timeout: 5 });
      await launched.stop();
      await stopOutside();
    },
  };
}

/** A connected mailbox and the tenant that owns it. */
export interface ConnectedMailbox {
  owner: MailboxOwner;
  address: string;
}

/** The first tenant, registered through the API, and its mailbox, watched. */
export async function connectFirstMailbox(harness: GmailHarness, address: string): Promise<ConnectedMailbox> {
  const owner = await registerUser(harness.api, 'tenant-1@bench.example.com');
  await harness.connectMailbox(owner, address);
  await harness.waitUntilWatched(1, 30_000);
  return { owner, address };
}

/** Measures `runs` mails one after the other (a mailbox is served in order), after `warmup` more. */
export async function measureGmail(
  harness: GmailHarness,
  address: string,
  plan: { sequentialRuns: number; warmupRuns: number },
): Promise<GmailResult> {
  const triggerUnitsSpent = () =>
    harness.gmail.calls
      .filter((call) => call.method === 'history.list' || call.method === 'messages.get')
      .reduce((sum, call) => sum + call.units, 0);
  const samples: MailTiming[] = [];
  let units = 0;
  for (let run = 0; run < plan.warmupRuns + plan.sequentialRuns; run++) {
    const unitsAtStart = triggerUnitsSpent();
    const timing = await harness.mailOnce(address);
    if (run >= plan.warmupRuns) {
      samples.push(timing);
      units += triggerUnitsSpent() - unitsAtStart;
    }
  }
  return { ...summarizeMails(samples), quotaUnitsPerMail: units / Math.max(1, samples.length) };
}
