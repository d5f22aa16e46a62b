import { randomBytes } from 'node:crypto';
import { apiGateway } from '@autoflow/api-gateway/app';
import { Keyring } from '@autoflow/crypto';
import { createDatabase } from '@autoflow/db';
import { createTokenService, SharedRateLimits } from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { CredentialService, OAuthConnector } from '@autoflow/oauth';
import { oauthService } from '@autoflow/oauth-service/app';
import {
  ExecutionChanges,
  ExecutionControl,
  RunStarter,
  ScheduleManager,
  TriggerListeners,
} from '@autoflow/runs';
import { triggerIngest } from '@autoflow/trigger-ingest/app';
import { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';

// Each public app's Fastify plugin over inert dependencies: enough to register every route (and so its
// schema), never called. The database is a lazy pool that never connects, Temporal a lazy connection
// that is never dialled; nothing here reads the environment.

export type PublicAppName = 'api-gateway' | 'oauth-service' | 'trigger-ingest';

export const PUBLIC_APPS: readonly PublicAppName[] = ['api-gateway', 'oauth-service', 'trigger-ingest'];

/** Any request that reached a dependency here would be a bug in this generator. */
const inertCounter = {
  hit: async () => {
    throw new Error('the OpenAPI generator serves no requests');
  },
};

async function registerApp(app: FastifyInstance, name: PublicAppName): Promise<void> {
  const database = createDatabase('postgres://openapi-generator.invalid/none', { maxConnections: 1 });
  app.addHook('onClose', () => database.close());
  const keyring = new Keyring(new Map([['openapi', randomBytes(32)]]), 'openapi');
  const tokens = createTokenService(randomBytes(32).toString('hex'));
  const rateLimits = new SharedRateLimits(inertCounter);
  const readiness = {};
  const rule = { max: 1, windowMs: 60_000 };
  switch (name) {
    case 'api-gateway': {
      const temporal = new Client();
      const runs = new RunStarter({ db: database.db, temporal, registry });
      await app.register(apiGateway, {
        db: database.db,
        readiness,
        tokens,
        keyring,
        payloadKeyring: keyring,
        registry,
        runs,
        schedules: new ScheduleManager({ temporal, registry, runs }),
        listeners: new TriggerListeners({ temporal, registry }),
        executions: new ExecutionControl({ db: database.db, temporal, runs }),
        // Never started: the generator listens to nothing.
        executionChanges: new ExecutionChanges(database.sql),
        streamHeartbeatMs: 15_000,
        credentials: new CredentialService({
          db: database.db,
          keyring,
          oauth: new Map(),
          allowHttpEndpoints: false,
        }),
        oauthProviders: new Map(),
        publicWebhookBaseUrl: 'http://localhost',
        rateLimits,
        authLimits: {
          login: { perAddress: rule, perAccount: rule },
          register: { perAddress: rule, perAccount: rule },
        },
      });
      return;
    }
    case 'oauth-service':
      await app.register(oauthService, {
        connector: new OAuthConnector({
          db: database.db,
          keyring,
          registry,
          oauth: new Map(),
          callbackUrl: 'http://localhost/api/oauth2-credential/callback',
          redirectAllowlist: new Set(),
          allowHttpEndpoints: false,
        }),
        tokens,
        rateLimits,
        rateLimitPerMinute: rule.max,
        defaultRedirectUrl: 'http://localhost/',
        readiness,
      });
      return;
    case 'trigger-ingest': {
      const temporal = new Client();
      await app.register(triggerIngest, {
        db: database.db,
        workflowsByHook: { get: async () => undefined },
        keyring,
        registry,
        runs: new RunStarter({ db: database.db, temporal, registry }),
        temporal,
        pushVerifiers: new Map(),
        readiness,
        maxBodyBytes: 1024,
      });
      return;
    }
  }
}

/** One app over inert dependencies, ready for `inject` (routes answer only what needs no dependency). */
export async function buildInertApp(name: PublicAppName): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await registerApp(app, name);
  await app.ready();
  return app;
}

/** The OpenAPI document one app serves at `/openapi.json`, as `app.swagger()` builds it. */
export async function appDocument(name: PublicAppName): Promise<unknown> {
  const app = await buildInertApp(name);
  try {
    return app.swagger();
  } finally {
    await app.close();
  }
}
