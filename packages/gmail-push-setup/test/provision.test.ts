import { PubSub } from '@google-cloud/pubsub';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runGmailPushCommand } from '../src/command.js';
import {
  GMAIL_PUBLISHER_MEMBER,
  type GmailPushOptions,
  PUBLISHER_ROLE,
  provisionGmailPush,
} from '../src/provision.js';
import { FakePubSubServer } from './fake-pubsub-server.js';

const options: GmailPushOptions = {
  projectId: 'autoflow-test',
  topicName: 'gmail-push',
  subscriptionName: 'gmail-push-trigger-ingest',
  endpointUrl: 'https://ingest.example.com/pubsub/gmail',
  pushServiceAccountEmail: 'gmail-push@autoflow-test.iam.gserviceaccount.com',
};
const topicPath = 'projects/autoflow-test/topics/gmail-push';
const subscriptionPath = 'projects/autoflow-test/subscriptions/gmail-push-trigger-ingest';

// The client asks google-auth-library for a universe domain even in emulator mode; without this it probes
// the GCE metadata server over the network on every test run.
process.env.METADATA_SERVER_DETECTION = 'none';

let fake: FakePubSubServer;
let pubsub: PubSub;

beforeEach(async () => {
  fake = await FakePubSubServer.start();
  pubsub = new PubSub({ projectId: options.projectId, apiEndpoint: fake.apiEndpoint });
});

afterEach(async () => {
  await pubsub.close();
  await fake.stop();
});

function publisherBindings() {
  return (fake.policies.get(topicPath)?.bindings ?? []).filter((binding) => binding.role === PUBLISHER_ROLE);
}

describe('provisionGmailPush against the gRPC fake', () => {
  it('creates the topic, the publisher binding and the OIDC push subscription', async () => {
    const summary = await provisionGmailPush(pubsub, options);

    expect(summary.topic).toEqual({ name: topicPath, outcome: 'created' });
    expect(summary.publisherBinding).toEqual({
      role: 'roles/pubsub.publisher',
      member: 'serviceAccount:gmail-api-push@system.gserviceaccount.com',
      outcome: 'created',
    });
    expect(summary.subscription).toEqual({ name: subscriptionPath, outcome: 'created', changedFields: [] });
    expect(summary.env).toEqual({
      GMAIL_PUBSUB_TOPIC: topicPath,
      PUBSUB_PUSH_AUDIENCE: options.endpointUrl,
      PUBSUB_PUSH_SERVICE_ACCOUNT: options.pushServiceAccountEmail,
    });

    expect(fake.topics.has(topicPath)).toBe(true);
    expect(publisherBindings()).toEqual([{ role: PUBLISHER_ROLE, members: [GMAIL_PUBLISHER_MEMBER] }]);
    const subscription = fake.subscriptions.get(subscriptionPath);
    expect(subscription).toMatchObject({
      topic: topicPath,
      pushConfig: {
        pushEndpoint: options.endpointUrl,
        oidcToken: { serviceAccountEmail: options.pushServiceAccountEmail, audience: options.endpointUrl },
      },
      ackDeadlineSeconds: 30,
      messageRetentionDuration: { seconds: 7 * 24 * 3600 },
      retryPolicy: { minimumBackoff: { seconds: 10 }, maximumBackoff: { seconds: 600 } },
    });
    // Present and without ttl: never expires (the server default would be 31 days).
    expect(subscription?.expirationPolicy).toEqual({});
  });

  it('changes nothing on a second run and keeps a single binding with a single member', async () => {
    await provisionGmailPush(pubsub, options);
    fake.calls.length = 0;

    const summary = await provisionGmailPush(pubsub, options);

    expect(summary.topic.outcome).toBe('unchanged');
    expect(summary.publisherBinding.outcome).toBe('unchanged');
    expect(summary.subscription).toMatchObject({ outcome: 'unchanged', changedFields: [] });
    // Reads only: the server-added push attributes and int64 durations compare equal to the plan.
    expect(fake.calls).toEqual(['GetTopic', 'GetIamPolicy', 'GetSubscription']);
    expect(publisherBindings()).toEqual([{ role: PUBLISHER_ROLE, members: [GMAIL_PUBLISHER_MEMBER] }]);
  });

  it("keeps other members' bindings, and joins an existing publisher binding rather than adding one", async () => {
    fake.topics.add(topicPath);
    fake.seedPolicy(topicPath, [
      { role: 'roles/pubsub.viewer', members: ['group:ops@example.com'] },
      { role: PUBLISHER_ROLE, members: ['serviceAccount:other@autoflow-test.iam.gserviceaccount.com'] },
    ]);

    const summary = await provisionGmailPush(pubsub, options);

    expect(summary.topic.outcome).toBe('unchanged');
    expect(summary.publisherBinding.outcome).toBe('updated');
    expect(fake.policies.get(topicPath)?.bindings).toEqual([
      { role: 'roles/pubsub.viewer', members: ['group:ops@example.com'] },
      {
        role: PUBLISHER_ROLE,
        members: ['serviceAccount:other@autoflow-test.iam.gserviceaccount.com', GMAIL_PUBLISHER_MEMBER],
      },
    ]);
  });

  it('reads the policy again when another writer changed it in between, losing neither change', async () => {
    fake.topics.add(topicPath);
    let raced = false;
    fake.beforeSetIamPolicy = () => {
      if (raced) return;
      raced = true;
      fake.seedPolicy(topicPath, [{ role: 'roles/pubsub.viewer', members: ['user:someone@example.com'] }]);
    };

    const summary = await provisionGmailPush(pubsub, options);

    expect(summary.publisherBinding.outcome).toBe('created');
    expect(fake.calls.filter((call) => call === 'SetIamPolicy')).toHaveLength(2);
    expect(fake.policies.get(topicPath)?.bindings).toEqual([
      { role: 'roles/pubsub.viewer', members: ['user:someone@example.com'] },
      { role: PUBLISHER_ROLE, members: [GMAIL_PUBLISHER_MEMBER] },
    ]);
  });

  it('updates only the drifted fields of an existing subscription', async () => {
    await provisionGmailPush(pubsub, options);
    const moved = {
      ...options,
      endpointUrl: 'https://ingest2.example.com/pubsub/gmail',
      audience: 'autoflow-gmail-push',
    };
    const existing = fake.subscriptions.get(subscriptionPath);
    if (!existing) throw new Error('subscription missing');
    fake.subscriptions.set(subscriptionPath, { ...existing, ackDeadlineSeconds: 10 });
    fake.calls.length = 0;

    const summary = await provisionGmailPush(pubsub, moved);

    expect(summary.subscription).toEqual({
      name: subscriptionPath,
      outcome: 'updated',
      changedFields: ['pushConfig', 'ackDeadlineSeconds'],
    });
    expect(fake.calls).toEqual(['GetTopic', 'GetIamPolicy', 'GetSubscription', 'UpdateSubscription']);
    expect(fake.subscriptions.get(subscriptionPath)).toMatchObject({
      ackDeadlineSeconds: 30,
      pushConfig: {
        pushEndpoint: moved.endpointUrl,
        oidcToken: { serviceAccountEmail: options.pushServiceAccountEmail, audience: 'autoflow-gmail-push' },
      },
    });
    expect(summary.env.PUBSUB_PUSH_AUDIENCE).toBe('autoflow-gmail-push');
    expect((await provisionGmailPush(pubsub, moved)).subscription.outcome).toBe('unchanged');
  });

  it('refuses a subscription of the same name on another topic', async () => {
    const otherTopic = 'projects/autoflow-test/topics/something-else';
    fake.topics.add(otherTopic);
    await pubsub.topic(otherTopic).createSubscription(subscriptionPath);

    await expect(provisionGmailPush(pubsub, options)).rejects.toThrow(/cannot change topic/);
  });
});

describe('the command', () => {
  const flags = [
    '--project',
    options.projectId,
    '--endpoint',
    options.endpointUrl,
    '--service-account',
    options.pushServiceAccountEmail,
  ];

  function captureIo() {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        createPubSub: (projectId: string) => new PubSub({ projectId, apiEndpoint: fake.apiEndpoint }),
        out: (line: string) => out.push(line),
        err: (line: string) => err.push(line),
        env: {},
      },
    };
  }

  it('provisions and prints the outcomes and the env lines', async () => {
    const { out, io } = captureIo();

    expect(await runGmailPushCommand(flags, io)).toBe(0);

    const printed = out.join('\n');
    expect(printed).toMatch(/^topic +created +projects\/autoflow-test\/topics\/gmail-push$/m);
    expect(printed).toMatch(/^subscription +created /m);
    expect(printed).toContain('roles/iam.serviceAccountTokenCreator');
    expect(printed).toContain(`GMAIL_PUBSUB_TOPIC=${topicPath}`);
    expect(printed).toContain(`PUBSUB_PUSH_AUDIENCE=${options.endpointUrl}`);
    expect(printed).toContain(`PUBSUB_PUSH_SERVICE_ACCOUNT=${options.pushServiceAccountEmail}`);
  });

  it('prints the plan on --dry-run and sends nothing', async () => {
    const { out, io } = captureIo();

    expect(await runGmailPushCommand([...flags, '--dry-run'], io)).toBe(0);

    expect(out.join('\n')).toContain(`GMAIL_PUBSUB_TOPIC=${topicPath}`);
    expect(fake.calls).toEqual([]);
  });

  it('exits 2 with a message per bad flag', async () => {
    const { err, io } = captureIo();

    const code = await runGmailPushCommand(
      ['--project', 'My Project', '--endpoint', 'http://ingest.example.com/pubsub/gmail'],
      io,
    );

    expect(code).toBe(2);
    expect(err).toContain(
      'error: --project must be a project id (6-30 lower-case letters, digits, hyphens), not its name or number',
    );
    expect(err).toContain('error: --endpoint must be https: Pub/Sub pushes only to https endpoints');
    expect(err).toContain('error: --service-account is required');
    expect(fake.calls).toEqual([]);
  });

  it('exits 2 on an unknown flag', async () => {
    const { err, io } = captureIo();

    expect(await runGmailPushCommand([...flags, '--region', 'eu'], io)).toBe(2);
    expect(err.join('\n')).toContain("Unknown option '--region'");
  });

  it('exits 1 and says which role is missing when Google refuses to let the caller act as the account', async () => {
    fake.accountsWithoutActAs.add(options.pushServiceAccountEmail);
    const { err, io } = captureIo();

    expect(await runGmailPushCommand(flags, io)).toBe(1);
    expect(err.join('\n')).toMatch(/PERMISSION_DENIED/);
    expect(err.join('\n')).toContain('roles/iam.serviceAccountUser');
  });
});
