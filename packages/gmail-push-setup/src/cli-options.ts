import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { GmailPushOptions } from './provision.js';

export const DEFAULT_TOPIC = 'gmail-push';
export const DEFAULT_SUBSCRIPTION = 'gmail-push-trigger-ingest';
export const INGEST_PATH = '/pubsub/gmail';

export const USAGE = `Creates the Pub/Sub topic, Gmail's publish right and the OIDC push subscription for Gmail push.

usage: pnpm gmail:provision --project <id> --endpoint https://<ingest-host>${INGEST_PATH} \\
         --service-account <push-account>@<project>.iam.gserviceaccount.com [options]

  --project <id>             Google Cloud project that holds the topic and subscription (required)
  --endpoint <url>           trigger-ingest's public https URL ending in ${INGEST_PATH} (required)
  --service-account <email>  account whose OIDC token Pub/Sub attaches to each push (required)
  --topic <id>               topic id (default ${DEFAULT_TOPIC})
  --subscription <id>        subscription id (default ${DEFAULT_SUBSCRIPTION})
  --audience <value>         the token's aud claim (default: the endpoint URL)
  --dry-run                  print the plan; call nothing
  --help                     this text

Credentials: Application Default Credentials (gcloud auth application-default login,
or GOOGLE_APPLICATION_CREDENTIALS).`;

// Pub/Sub's rule for topic and subscription ids.
const resourceId = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/,
      `${what} must be 3-255 characters, start with a letter, and use letters, digits and - _ . ~ + %`,
    )
    .refine((id) => !id.toLowerCase().startsWith('goog'), `${what} must not start with "goog"`);

const optionsSchema = z.object({
  project: z.string({ error: '--project is required' }).regex(
    // Optional legacy "domain:" prefix, then 6-30 lower-case letters, digits and hyphens.
    /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    '--project must be a project id (6-30 lower-case letters, digits, hyphens), not its name or number',
  ),
  endpoint: z
    .string({ error: '--endpoint is required' })
    .refine((value) => URL.canParse(value), '--endpoint must be an absolute URL')
    .refine(
      (value) => !URL.canParse(value) || new URL(value).protocol === 'https:',
      '--endpoint must be https: Pub/Sub pushes only to https endpoints',
    ),
  'service-account': z
    .string({ error: '--service-account is required' })
    .regex(
      /^[^@\s]+@[a-z0-9.-]+\.gserviceaccount\.com$/,
      '--service-account must be a service account email (…@….gserviceaccount.com)',
    ),
  topic: resourceId('--topic').default(DEFAULT_TOPIC),
  subscription: resourceId('--subscription').default(DEFAULT_SUBSCRIPTION),
  audience: z.string().min(1, '--audience must not be empty').optional(),
  'dry-run': z.boolean().default(false),
});

export type CliRequest =
  | { kind: 'help' }
  | { kind: 'invalid'; errors: string[] }
  | { kind: 'run'; dryRun: boolean; options: GmailPushOptions; warnings: string[] };

export function parseCliRequest(argv: string[]): CliRequest {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        project: { type: 'string' },
        topic: { type: 'string' },
        subscription: { type: 'string' },
        endpoint: { type: 'string' },
        'service-account': { type: 'string' },
        audience: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // parseArgs names the unknown or malformed flag itself.
    return { kind: 'invalid', errors: [error instanceof Error ? error.message : String(error)] };
  }
  if (values.help) return { kind: 'help' };

  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    return { kind: 'invalid', errors: parsed.error.issues.map((issue) => issue.message) };
  }
  const flags = parsed.data;
  const warnings: string[] = [];
  if (!new URL(flags.endpoint).pathname.endsWith(INGEST_PATH)) {
    warnings.push(
      `--endpoint does not end in ${INGEST_PATH}, the path trigger-ingest serves Gmail pushes on`,
    );
  }
  return {
    kind: 'run',
    dryRun: flags['dry-run'],
    warnings,
    options: {
      projectId: flags.project,
      topicName: flags.topic,
      subscriptionName: flags.subscription,
      endpointUrl: flags.endpoint,
      pushServiceAccountEmail: flags['service-account'],
      audience: flags.audience,
    },
  };
}
