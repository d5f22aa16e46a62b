import { Keyring } from '@autoflow/crypto';
import { createDatabase } from '@autoflow/db';
import { createTokenService, fastifyOptions, listenUntilSignalled } from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { CredentialService } from '@autoflow/oauth';
import { RunStarter, ScheduleManager, TriggerListeners } from '@autoflow/runs';
import { Client, Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { apiGateway } from './app.js';
import { envSchema } from './env.js';

const env = envSchema.parse(process.env);
const keyring = Keyring.fromEnv(env.ENCRYPTION_KEYS, env.ENCRYPTION_CURRENT_KEY_ID);
const database = createDatabase(env.DATABASE_URL);
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });

const runs = new RunStarter({ db: database.db, temporal, registry });
const app = Fastify(fastifyOptions({ logLevel: env.LOG_LEVEL }));
app.addHook('onClose', async () => {
  await connection.close();
  await database.close();
});
await app.register(apiGateway, {
  db: database.db,
  readiness: { postgres: database.ping, temporal: () => connection.healthService.check({}) },
  tokens: createTokenService(env.JWT_SECRET),
  keyring,
  registry,
  runs,
  schedules: new ScheduleManager({ temporal, registry, runs }),
  listeners: new TriggerListeners({ temporal, registry }),
  credentials: new CredentialService({
    db: database.db,
    keyring,
    registry,
    env: process.env,
    allowHttpEndpoints: env.OAUTH_ALLOW_HTTP_ENDPOINTS === 'true',
  }),
  publicWebhookBaseUrl: env.PUBLIC_WEBHOOK_BASE_URL,
});
await listenUntilSignalled(app, env.PORT, env.HOST);
