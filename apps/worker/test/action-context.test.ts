// What the worker hands an action: its own provider's settings and nothing else of the environment.
import { generateKey, Keyring } from '@autoflow/crypto';
import { createDatabase } from '@autoflow/db';
import { CredentialService } from '@autoflow/oauth';
import {
  type ActivityFunction,
  defineAction,
  defineProvider,
  ProviderRegistry,
  resolveProviderSettings,
} from '@autoflow/provider-registry';
import type { ActionActivityInput } from '@autoflow/workflow-contracts';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Agent } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createActivitiesByQueue } from '../src/activities.js';

const alphaSettings = z.object({
  ALPHA_API_URL: z.url().default('https://alpha.example.com'),
  ALPHA_LIMIT: z.coerce.number().default(5),
});

/** Answers everything its context holds, so the test can look at it. */
const probe = defineAction({
  id: 'probe',
  name: 'Probe',
  description: '',
  config: z.object({}),
  output: z.object({ keys: z.array(z.string()), settings: z.unknown() }),
  settings: alphaSettings,
  execution: { mode: 'queued', taskQueue: 'alpha-queue' },
  sampleConfig: () => ({}),
  async run(context) {
    return { keys: Object.keys(context).sort(), settings: context.settings };
  },
});

const alpha = defineProvider({
  id: 'alpha',
  name: 'Alpha',
  auth: { type: 'none' },
  settings: alphaSettings,
  triggers: [],
  actions: [probe],
});
const beta = defineProvider({
  id: 'beta',
  name: 'Beta',
  auth: { type: 'none' },
  settings: z.object({ BETA_SECRET: z.string().default('beta-default') }),
  triggers: [],
  actions: [],
});

// Never connected: the probe touches no table.
const database = createDatabase('postgres://unused@127.0.0.1:1/unused', { maxConnections: 1 });
const dispatcher = new Agent();
afterAll(async () => {
  await dispatcher.close();
  await database.close();
});

it("hands an action only its own provider's parsed settings", async () => {
  const registry = new ProviderRegistry([alpha, beta]);
  const workerEnvironment = {
    ALPHA_LIMIT: '7',
    BETA_SECRET: 'beta-only',
    ENCRYPTION_KEYS: 'k1:do-not-leak',
    JWT_SECRET: 'do-not-leak-either',
    DATABASE_URL: 'postgres://secret@db/prod',
  };
  const byQueue = createActivitiesByQueue(
    {
      db: database.db,
      registry,
      httpDispatcher: dispatcher,
      credentials: new CredentialService({
        db: database.db,
        keyring: Keyring.fromEnv(`k1:${generateKey()}`, undefined),
        oauth: new Map(),
        allowHttpEndpoints: false,
      }),
      providerSettings: resolveProviderSettings(registry.providers, workerEnvironment),
    },
    'main-queue',
  );
  const activity: ActivityFunction | undefined = byQueue.get('alpha-queue')?.['alpha.probe'];
  if (!activity) throw new Error('alpha.probe is not registered on alpha-queue');
  const input: ActionActivityInput = {
    workflowId: 1,
    userId: 1,
    config: {},
    triggerData: {},
    credentialsId: null,
  };

  // Called as Temporal calls it: with the run's input, inside an activity context.
  const output: unknown = await new MockActivityEnvironment().run(async () =>
    Reflect.apply(activity, undefined, [input]),
  );

  expect(output).toEqual({
    keys: [
      'attempt',
      'config',
      'credential',
      'heartbeat',
      'httpDispatcher',
      'idempotencyKey',
      'settings',
      'signal',
    ],
    settings: { ALPHA_API_URL: 'https://alpha.example.com', ALPHA_LIMIT: 7 },
  });
  const text = JSON.stringify(output);
  for (const secret of ['do-not-leak', 'beta-only', 'postgres://']) expect(text).not.toContain(secret);
});
