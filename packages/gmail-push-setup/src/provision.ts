import type { Policy, PubSub, protos, Subscription, SubscriptionMetadata, Topic } from '@google-cloud/pubsub';

type SubscriptionResource = protos.google.pubsub.v1.ISubscription;

/** Gmail publishes every mailbox change of a `users.watch` as this account; the topic must let it publish. */
export const GMAIL_PUBLISHER_MEMBER = 'serviceAccount:gmail-api-push@system.gserviceaccount.com';
export const PUBLISHER_ROLE = 'roles/pubsub.publisher';

/** The push endpoint answers 2xx only once Temporal accepted the run, which takes well under this. */
export const ACK_DEADLINE_SECONDS = 30;
export const RETRY_MINIMUM_BACKOFF_SECONDS = 10;
export const RETRY_MAXIMUM_BACKOFF_SECONDS = 600;
/** Gmail keeps history ids about a week; a notification kept longer points at history that may be gone. */
export const MESSAGE_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** gRPC status codes this module reacts to (google.rpc.Code). */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const ABORTED = 10;
/** Another writer changed the topic's policy between our read and write: read again, this many times. */
const IAM_WRITE_ATTEMPTS = 3;

export interface GmailPushOptions {
  projectId: string;
  /** Short topic id, e.g. `gmail-push`. */
  topicName: string;
  /** Short subscription id, e.g. `gmail-push-trigger-ingest`. */
  subscriptionName: string;
  /** trigger-ingest's public `https://…/pubsub/gmail`. */
  endpointUrl: string;
  /** The account whose OIDC token Pub/Sub attaches to every push. */
  pushServiceAccountEmail: string;
  /** The token's `aud` claim; the endpoint URL when unset. */
  audience?: string | undefined;
}

/** What the apps read, named as they read it. */
export interface GmailPushEnv {
  /** `projects/<project>/topics/<topic>`: the `topicName` of Gmail's users.watch. */
  GMAIL_PUBSUB_TOPIC: string;
  PUBSUB_PUSH_AUDIENCE: string;
  PUBSUB_PUSH_SERVICE_ACCOUNT: string;
}

/** The subscription fields this module owns; anything else on the subscription is left alone. */
export interface ManagedSubscriptionFields {
  pushConfig: {
    pushEndpoint: string;
    oidcToken: { serviceAccountEmail: string; audience: string };
  };
  ackDeadlineSeconds: number;
  messageRetentionDuration: { seconds: number; nanos: number };
  retryPolicy: {
    minimumBackoff: { seconds: number; nanos: number };
    maximumBackoff: { seconds: number; nanos: number };
  };
  /** Empty: never expire. The default deletes a subscription after 31 days without a push. */
  expirationPolicy: Record<string, never>;
}

export type ManagedSubscriptionField = keyof ManagedSubscriptionFields;

export interface GmailPushPlan {
  topicPath: string;
  subscriptionPath: string;
  publisherBinding: { role: string; member: string };
  subscription: ManagedSubscriptionFields;
  env: GmailPushEnv;
  manualSteps: string[];
}

export type Outcome = 'created' | 'updated' | 'unchanged';

export interface ProvisionSummary {
  topic: { name: string; outcome: Exclude<Outcome, 'updated'> };
  /** `created`: a new binding for the role; `updated`: the member joined the role's existing binding. */
  publisherBinding: { role: string; member: string; outcome: Outcome };
  subscription: { name: string; outcome: Outcome; changedFields: ManagedSubscriptionField[] };
  env: GmailPushEnv;
  manualSteps: string[];
}

/** Everything the provisioning will make true, computed without calling Google (also `--dry-run`). */
export function planGmailPush(options: GmailPushOptions): GmailPushPlan {
  const topicPath = `projects/${options.projectId}/topics/${options.topicName}`;
  const audience = options.audience ?? options.endpointUrl;
  return {
    topicPath,
    subscriptionPath: `projects/${options.projectId}/subscriptions/${options.subscriptionName}`,
    publisherBinding: { role: PUBLISHER_ROLE, member: GMAIL_PUBLISHER_MEMBER },
    subscription: {
      pushConfig: {
        pushEndpoint: options.endpointUrl,
        oidcToken: { serviceAccountEmail: options.pushServiceAccountEmail, audience },
      },
      ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
      messageRetentionDuration: { seconds: MESSAGE_RETENTION_SECONDS, nanos: 0 },
      retryPolicy: {
        minimumBackoff: { seconds: RETRY_MINIMUM_BACKOFF_SECONDS, nanos: 0 },
        maximumBackoff: { seconds: RETRY_MAXIMUM_BACKOFF_SECONDS, nanos: 0 },
      },
      expirationPolicy: {},
    },
    env: {
      GMAIL_PUBSUB_TOPIC: topicPath,
      PUBSUB_PUSH_AUDIENCE: audience,
      PUBSUB_PUSH_SERVICE_ACCOUNT: options.pushServiceAccountEmail,
    },
    manualSteps: manualSteps(options),
  };
}

/**
 * Makes the topic, Gmail's publish right on it and the OIDC push subscription exist as planned.
 * Safe to run again: what exists is read and only what differs is written.
 */
export async function provisionGmailPush(
  pubsub: PubSub,
  options: GmailPushOptions,
): Promise<ProvisionSummary> {
  const plan = planGmailPush(options);
  // Full resource names, so the project is the one asked for, whatever the client was built with.
  const topic = pubsub.topic(plan.topicPath);
  const topicOutcome = await ensureTopic(topic);
  const bindingOutcome = await grantPublisher(topic, plan.publisherBinding);
  const subscriptionResult = await ensureSubscription(
    topic,
    pubsub.subscription(plan.subscriptionPath),
    plan,
  );
  return {
    topic: { name: plan.topicPath, outcome: topicOutcome },
    publisherBinding: { ...plan.publisherBinding, outcome: bindingOutcome },
    subscription: { name: plan.subscriptionPath, ...subscriptionResult },
    env: plan.env,
    manualSteps: plan.manualSteps,
  };
}

async function ensureTopic(topic: Topic): Promise<'created' | 'unchanged'> {
  try {
    await topic.getMetadata();
    return 'unchanged';
  } catch (error) {
    if (!hasGrpcCode(error, NOT_FOUND)) throw error;
  }
  try {
    await topic.create();
    return 'created';
  } catch (error) {
    // Someone created it between our read and our create: it exists, which is all we need.
    if (hasGrpcCode(error, ALREADY_EXISTS)) return 'unchanged';
    throw error;
  }
}

async function grantPublisher(topic: Topic, binding: { role: string; member: string }): Promise<Outcome> {
  for (let attempt = 1; ; attempt++) {
    const [policy] = await topic.iam.getPolicy();
    const change = withMember(policy, binding.role, binding.member);
    if (change.outcome === 'unchanged') return 'unchanged';
    try {
      // The policy carries the etag we read, so a concurrent write makes this fail with ABORTED, not vanish.
      await topic.iam.setPolicy(change.policy);
      return change.outcome;
    } catch (error) {
      if (hasGrpcCode(error, ABORTED) && attempt < IAM_WRITE_ATTEMPTS) continue;
      throw error;
    }
  }
}

/** The policy with `member` in the role's unconditional binding; every other binding and member kept. */
export function withMember(
  policy: Policy,
  role: string,
  member: string,
): { policy: Policy; outcome: Outcome } {
  const bindings = policy.bindings ?? [];
  // A conditional binding grants only under its condition, so it doesn't count and isn't touched.
  const index = bindings.findIndex((binding) => binding.role === role && !binding.condition);
  const existing = bindings[index];
  if (existing === undefined) {
    return {
      policy: { ...policy, bindings: [...bindings, { role, members: [member] }] },
      outcome: 'created',
    };
  }
  const members = existing.members ?? [];
  if (members.includes(member)) return { policy, outcome: 'unchanged' };
  const updated = bindings.map((binding, position) =>
    position === index ? { ...binding, members: [...members, member] } : binding,
  );
  return { policy: { ...policy, bindings: updated }, outcome: 'updated' };
}

async function ensureSubscription(
  topic: Topic,
  subscription: Subscription,
  plan: GmailPushPlan,
): Promise<{ outcome: Outcome; changedFields: ManagedSubscriptionField[] }> {
  let existing = await readSubscription(subscription);
  if (existing === undefined) {
    try {
      await topic.createSubscription(plan.subscriptionPath, plan.subscription);
      return { outcome: 'created', changedFields: [] };
    } catch (error) {
      if (!hasGrpcCode(error, ALREADY_EXISTS)) throw error;
      // Created concurrently: compare it like one we found.
      [existing] = await subscription.getMetadata();
    }
  }
  if (existing.topic !== plan.topicPath) {
    throw new Error(
      `Subscription ${plan.subscriptionPath} receives from ${existing.topic ?? 'no topic'}, not ${plan.topicPath}, ` +
        'and a subscription cannot change topic. Delete it or choose another --subscription.',
    );
  }
  const changedFields = subscriptionDrift(existing, plan.subscription);
  if (changedFields.length === 0) return { outcome: 'unchanged', changedFields };
  // setMetadata's update mask is the keys it is given, so only drifted fields are written.
  // (The whole plan.subscription type-checks as subscription metadata at createSubscription above.)
  const update: SubscriptionMetadata = {};
  for (const field of changedFields) Object.assign(update, { [field]: plan.subscription[field] });
  await subscription.setMetadata(update);
  return { outcome: 'updated', changedFields };
}

async function readSubscription(subscription: Subscription): Promise<SubscriptionResource | undefined> {
  try {
    const [metadata] = await subscription.getMetadata();
    return metadata;
  } catch (error) {
    if (hasGrpcCode(error, NOT_FOUND)) return undefined;
    throw error;
  }
}

/** The managed fields whose value on Google differs from the plan. */
export function subscriptionDrift(
  existing: SubscriptionResource,
  desired: ManagedSubscriptionFields,
): ManagedSubscriptionField[] {
  const drift: ManagedSubscriptionField[] = [];
  const push = existing.pushConfig;
  // `attributes` is ignored: Pub/Sub fills in `x-goog-version` itself.
  if (
    push?.pushEndpoint !== desired.pushConfig.pushEndpoint ||
    push.oidcToken?.serviceAccountEmail !== desired.pushConfig.oidcToken.serviceAccountEmail ||
    push.oidcToken?.audience !== desired.pushConfig.oidcToken.audience ||
    // trigger-ingest expects the wrapped body ({message, subscription}); "no wrapper" sends raw data.
    push.noWrapper
  ) {
    drift.push('pushConfig');
  }
  if (existing.ackDeadlineSeconds !== desired.ackDeadlineSeconds) drift.push('ackDeadlineSeconds');
  if (!sameDuration(existing.messageRetentionDuration, desired.messageRetentionDuration)) {
    drift.push('messageRetentionDuration');
  }
  const retry = existing.retryPolicy;
  if (
    !retry ||
    !sameDuration(retry.minimumBackoff, desired.retryPolicy.minimumBackoff) ||
    !sameDuration(retry.maximumBackoff, desired.retryPolicy.maximumBackoff)
  ) {
    drift.push('retryPolicy');
  }
  // A present policy without ttl means "never expire"; an absent one is the server default (31 days).
  const expiration = existing.expirationPolicy;
  if (!expiration || !sameDuration(expiration.ttl, { seconds: 0, nanos: 0 })) drift.push('expirationPolicy');
  return drift;
}

interface DurationLike {
  seconds?: number | string | { toString(): string } | null;
  nanos?: number | null;
}

/** Durations arrive as int64, i.e. a string or a Long depending on the decoder; compare them as numbers. */
function sameDuration(
  actual: DurationLike | null | undefined,
  expected: { seconds: number; nanos: number },
): boolean {
  const seconds = Number(String(actual?.seconds ?? 0));
  const nanos = actual?.nanos ?? 0;
  return seconds === expected.seconds && nanos === expected.nanos;
}

function hasGrpcCode(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}

function manualSteps(options: GmailPushOptions): string[] {
  const project = options.projectId;
  const account = options.pushServiceAccountEmail;
  return [
    'Let the Pub/Sub service agent mint OIDC tokens for the push account (granting it again is harmless):\n' +
      `  PROJECT_NUMBER=$(gcloud projects describe ${project} --format='value(projectNumber)')\n` +
      `  gcloud iam service-accounts add-iam-policy-binding ${account} \\\n` +
      '    --member="serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" \\\n' +
      '    --role=roles/iam.serviceAccountTokenCreator',
    'Set the env lines below: trigger-ingest checks each push token against PUBSUB_PUSH_AUDIENCE and ' +
      'PUBSUB_PUSH_SERVICE_ACCOUNT; the worker passes GMAIL_PUBSUB_TOPIC to Gmail users.watch.',
  ];
}
