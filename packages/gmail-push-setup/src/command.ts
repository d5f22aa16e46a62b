import type { PubSub } from '@google-cloud/pubsub';
import { parseCliRequest, USAGE } from './cli-options.js';
import { type GmailPushEnv, type GmailPushPlan, planGmailPush, provisionGmailPush } from './provision.js';

export interface CommandIo {
  /** Builds the client for a project; the CLI's uses Application Default Credentials. */
  createPubSub(projectId: string): PubSub;
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

const PERMISSION_DENIED = 7;
/** Variables that make the client talk to something other than Google, read by @google-cloud/pubsub itself. */
const ENDPOINT_OVERRIDES = ['PUBSUB_EMULATOR_HOST', 'CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB'];

/** The whole command: 0 done, 1 Google refused or failed, 2 bad input. */
export async function runGmailPushCommand(argv: string[], io: CommandIo): Promise<number> {
  const request = parseCliRequest(argv);
  if (request.kind === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (request.kind === 'invalid') {
    for (const error of request.errors) io.err(`error: ${error}`);
    io.err('(--help for usage)');
    return 2;
  }
  for (const warning of request.warnings) io.err(`warning: ${warning}`);

  const plan = planGmailPush(request.options);
  if (request.dryRun) {
    io.out(describePlan(plan));
    return 0;
  }

  for (const name of ENDPOINT_OVERRIDES) {
    const value = io.env[name];
    if (value) io.err(`note: ${name}=${value} is set, so this talks to ${value}, not to Google`);
  }
  const pubsub = io.createPubSub(request.options.projectId);
  try {
    // Find credentials before the first call: when the client finds none mid-call, it also leaves a
    // rejected promise nobody awaits, which crashes the process after our message.
    if (!pubsub.isEmulator) {
      try {
        await pubsub.auth.getClient();
      } catch (error) {
        io.err(`error: ${describeError(error)}`);
        io.err('hint: gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS=<key file>');
        return 1;
      }
    }
    const summary = await provisionGmailPush(pubsub, request.options);
    io.out(`topic         ${summary.topic.outcome.padEnd(9)} ${summary.topic.name}`);
    io.out(
      `iam binding   ${summary.publisherBinding.outcome.padEnd(9)} ${summary.publisherBinding.role} ` +
        `for ${summary.publisherBinding.member} on the topic`,
    );
    const changed = summary.subscription.changedFields;
    io.out(
      `subscription  ${summary.subscription.outcome.padEnd(9)} ${summary.subscription.name}` +
        (changed.length > 0 ? ` (${changed.join(', ')})` : ''),
    );
    io.out('');
    io.out(describeManualSteps(summary.manualSteps));
    io.out('');
    io.out(describeEnv(summary.env));
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}`);
    if (hasCode(error, PERMISSION_DENIED)) {
      io.err(
        "hint: the caller needs roles/pubsub.admin on the project (editor can't set the topic's IAM policy) and " +
          `roles/iam.serviceAccountUser on ${request.options.pushServiceAccountEmail} ` +
          '(creating a push subscription with its token is acting as it)',
      );
    }
    return 1;
  } finally {
    await pubsub.close();
  }
}

export function describePlan(plan: GmailPushPlan): string {
  const subscription = plan.subscription;
  const { pushEndpoint, oidcToken } = subscription.pushConfig;
  return [
    'Dry run: nothing was sent to Google. Running without --dry-run makes this true:',
    `  topic         ${plan.topicPath}`,
    `  iam binding   ${plan.publisherBinding.role} for ${plan.publisherBinding.member} on the topic`,
    `  subscription  ${plan.subscriptionPath}`,
    `                push to ${pushEndpoint}`,
    `                OIDC token of ${oidcToken.serviceAccountEmail}, audience ${oidcToken.audience}`,
    `                ack deadline ${subscription.ackDeadlineSeconds} s, ` +
      `retry backoff ${subscription.retryPolicy.minimumBackoff.seconds}..` +
      `${subscription.retryPolicy.maximumBackoff.seconds} s, ` +
      `retention ${subscription.messageRetentionDuration.seconds / 86_400} days, never expires`,
    '',
    describeManualSteps(plan.manualSteps),
    '',
    describeEnv(plan.env),
  ].join('\n');
}

function describeManualSteps(steps: string[]): string {
  return ['Manual steps:', ...steps.map((step, index) => `${index + 1}. ${step}`)].join('\n');
}

function describeEnv(env: GmailPushEnv): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join('\n');
}

/** The message only: client errors carry request metadata and stacks, never worth printing whole. */
function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hasCode(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}
