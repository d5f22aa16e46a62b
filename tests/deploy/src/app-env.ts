import { envSchema as apiGatewayEnv } from '@autoflow/api-gateway/env';
import { registry } from '@autoflow/installed-providers';
import { envSchema as oauthServiceEnv } from '@autoflow/oauth-service/env';
import { envSchema as triggerIngestEnv } from '@autoflow/trigger-ingest/env';
import { envSchema as workerEnv } from '@autoflow/worker/env';
import { TASK_QUEUES } from '@autoflow/workflow-contracts';
import { z } from 'zod';

/** Platform OAuth app variables: api-gateway, oauth-service and the worker read them (resolveOAuth2Providers). */
const oauthProviderVariables = registry.providers.flatMap((provider) =>
  provider.auth.type === 'oauth2'
    ? Object.values(provider.auth.env).filter((name) => name !== undefined)
    : [],
);

/** Provider settings (GMAIL_*, SLACK_API_URL, …), parsed by the worker and trigger-ingest from their environment. */
const providerSettingsSchemas = registry.providers.flatMap((provider) =>
  provider.settings instanceof z.ZodObject ? [provider.settings] : [],
);

export interface AppEnvironment {
  /** Every variable the app reads. */
  names: ReadonlySet<string>;
  /** Why a complete environment does not start the app (the zod issues), or undefined when it would. */
  problems(env: Readonly<Record<string, string>>): string | undefined;
}

function problemsOf(result: z.ZodSafeParseResult<unknown>, label: string): string | undefined {
  return result.success ? undefined : `${label}: ${z.prettifyError(result.error)}`;
}

function appEnvironment(
  schema: z.ZodType,
  names: readonly string[],
  settingsSchemas: readonly z.ZodType[] = [],
): AppEnvironment {
  return {
    names: new Set(names),
    problems: (env) =>
      [schema, ...settingsSchemas]
        .map((each, index) => problemsOf(each.safeParse(env), index === 0 ? 'env.ts' : 'provider settings'))
        .filter((problem) => problem !== undefined)
        .join('\n') || undefined,
  };
}

/** What each container of the chart may set, by container name: the apps' env.ts, and the migration CLI. */
export const appEnvironments: Readonly<Record<string, AppEnvironment>> = {
  'api-gateway': appEnvironment(apiGatewayEnv, [
    ...Object.keys(apiGatewayEnv.shape),
    ...oauthProviderVariables,
  ]),
  // Its schema checks the redirect settings together after the object: the variables are the object's.
  'oauth-service': appEnvironment(oauthServiceEnv, [
    ...Object.keys(oauthServiceEnv.in.shape),
    ...oauthProviderVariables,
  ]),
  // Push endpoints' settings (PUBSUB_PUSH_*, SLACK_SIGNING_SECRET) are providers' settings it parses too.
  'trigger-ingest': appEnvironment(
    triggerIngestEnv,
    [
      ...Object.keys(triggerIngestEnv.shape),
      ...providerSettingsSchemas.flatMap((schema) => Object.keys(schema.shape)),
    ],
    providerSettingsSchemas,
  ),
  worker: appEnvironment(
    workerEnv,
    [
      ...Object.keys(workerEnv.shape),
      ...oauthProviderVariables,
      ...providerSettingsSchemas.flatMap((schema) => Object.keys(schema.shape)),
    ],
    providerSettingsSchemas,
  ),
  // packages/db/src/migrate-cli.ts reads DATABASE_URL and nothing else.
  migrate: appEnvironment(z.object({ DATABASE_URL: z.string().url() }), ['DATABASE_URL']),
};

/**
 * Variables whose values are secrets: the chart may only pass them by secretKeyRef. Listed here on their
 * own (not read from the chart) so that the chart cannot loosen its own check.
 */
export const secretVariables: ReadonlySet<string> = new Set([
  'DATABASE_URL',
  'JWT_SECRET',
  'ENCRYPTION_KEYS',
  'VAULT_TOKEN',
  'VAULT_ROLE_ID',
  'VAULT_SECRET_ID',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CERT_PEM',
  'TEMPORAL_TLS_KEY_PEM',
  'SLACK_SIGNING_SECRET',
  ...registry.providers.flatMap((provider) =>
    provider.auth.type === 'oauth2' ? [provider.auth.env.clientSecret] : [],
  ),
]);

/** Stand-ins for secret values when an environment is parsed by an app's schema. */
export function sampleSecret(name: string): string {
  if (name === 'DATABASE_URL') return 'postgres://autoflow:secret@postgres.example.com:5432/autoflow';
  return `sample-${name.toLowerCase()}-`.padEnd(40, 'x');
}

/** Every task queue a worker of this build serves: WORKER_TASK_QUEUES names among these. */
export const knownTaskQueues: readonly string[] = [
  ...Object.values(TASK_QUEUES),
  ...registry.providers.flatMap((provider) => Object.keys(provider.queues ?? {})),
];
