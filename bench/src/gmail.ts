import { FakeGmail, FakePubSubPush } from '@autoflow/fakes';
import { LaunchedSystem } from '@autoflow/local-stack';
import postgres from 'postgres';
import { type LatencySummary, summarize } from './stats.js';
import { json, listenForRecordedRuns, Rendezvous, startSink } from './system.js';

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

async function postJson(url: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  return json(
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    }),
  );
}

/** Measures `runs` mails one after the other (a mailbox is served in order), after `warmup` more. */
export async function measureGmail(
  baseDatabaseUrl: string,
  temporalAddress: string,
  plan: { sequentialRuns: number; warmupRuns: number },
): Promise<GmailResult> {
  const gmail = new FakeGmail();
  const pubsub = new FakePubSubPush({ audience: AUDIENCE, serviceAccount: PUSH_ACCOUNT });
  const atSink = new Rendezvous<number>();
  const atRecorded = new Rendezvous<number>();
  await Promise.all([gmail.start(), pubsub.start()]);
  const sink = await startSink(atSink, /"mail":"([\w-]+)"/);
  const launched = await LaunchedSystem.launch({
    baseDatabaseUrl,
    temporalAddress,
    inheritedEnv: process.env,
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
    // Runs' workflow ids end with the Gmail message id: run:{workflowId}:event:{gmailMessageId}.
    await listenForRecordedRuns(sql, atRecorded);

    const api = launched.url('api-gateway', '');
    const registered = await postJson(`${api}/api/auth/register`, {
      email: 'gmail-bench@example.com',
      password: 'benchmark-password',
    });
    const token = String(registered.token);
    const user = registered.user;
    const userId = typeof user === 'object' && user !== null && 'id' in user ? Number(user.id) : 0;

    gmail.addMailbox(MAILBOX);
    gmail.grant('bench-access-token', MAILBOX);
    const credentialId = await launched.insertConnectedCredential(sql, {
      userId,
      provider: 'gmail',
      accessToken: 'bench-access-token',
    });

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
    const triggerUnitsSpent = () =>
      gmail.calls
        .filter((call) => call.method === 'history.list' || call.method === 'messages.get')
        .reduce((sum, call) => sum + call.units, 0);
    const samples: { accepted: number; sink: number; recorded: number }[] = [];
    let units = 0;
    for (let run = 0; run < plan.warmupRuns + plan.sequentialRuns; run++) {
      const unitsAtStart = triggerUnitsSpent();
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
        units += triggerUnitsSpent() - unitsAtStart;
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
