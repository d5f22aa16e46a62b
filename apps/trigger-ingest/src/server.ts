import { Keyring } from '@autoflow/crypto';
import { createDatabase } from '@autoflow/db';
import { fastifyOptions, listenUntilSignalled } from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { createPushVerifier } from '@autoflow/provider-gmail';
import { RunStarter } from '@autoflow/runs';
import { databaseOwners, encryptedDataConverter } from '@autoflow/temporal-codec';
import { Client, Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { triggerIngest } from './app.js';
import { envSchema } from './env.js';

const env = envSchema.parse(process.env);
const keyring = Keyring.fromEnv(env.ENCRYPTION_KEYS, env.ENCRYPTION_CURRENT_KEY_ID);
const database = createDatabase(env.DATABASE_URL, { maxConnections: env.DATABASE_POOL_SIZE });
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
const temporal = new Client({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  dataConverter:
    env.TEMPORAL_PAYLOAD_ENCRYPTION === 'off'
      ? undefined
      : encryptedDataConverter(keyring, databaseOwners(database.db), {
          acceptPlain: env.TEMPORAL_PAYLOAD_ENCRYPTION === 'accept-plain',
        }),
});

const app = Fastify(fastifyOptions({ logLevel: env.LOG_LEVEL, bodyLimit: env.WEBHOOK_MAX_BODY_BYTES }));
app.addHook('onClose', async () => {
  await connection.close();
  await database.close();
});
await app.register(triggerIngest, {
  db: database.db,
  keyring,
  registry,
  runs: new RunStarter({ db: database.db, temporal, registry }),
  temporal,
  verifyPush:
    env.PUBSUB_PUSH_AUDIENCE && env.PUBSUB_PUSH_SERVICE_ACCOUNT
      ? createPushVerifier({
          audience: env.PUBSUB_PUSH_AUDIENCE,
          serviceAccount: env.PUBSUB_PUSH_SERVICE_ACCOUNT,
          jwksUrl: env.PUBSUB_PUSH_JWKS_URL,
        })
      : undefined,
  readiness: { postgres: database.ping, temporal: () => connection.healthService.check({}) },
  maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
});
await listenUntilSignalled(app, env.PORT, env.HOST);
