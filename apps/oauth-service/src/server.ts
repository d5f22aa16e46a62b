import { createDatabase, credentials } from '@autoflow/db';
import { listenUntilSignalled, loggerOptions } from '@autoflow/http-kit';
import { Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { oauthService } from './app.js';
import { envSchema } from './env.js';

const env = envSchema.parse(process.env);
const database = createDatabase(env.DATABASE_URL, { maxConnections: 5 });
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });

const app = Fastify({ logger: loggerOptions(env.LOG_LEVEL) });
app.addHook('onClose', async () => {
  await connection.close();
  await database.close();
});
await app.register(oauthService, {
  readiness: {
    // Reads the shared schema, so a missing migration shows as not ready.
    postgres: () => database.db.select({ id: credentials.id }).from(credentials).limit(1),
    temporal: () => connection.healthService.check({}),
  },
});
await listenUntilSignalled(app, env.PORT, env.HOST);
