import { createKeyProvider, Keyring } from '@autoflow/crypto';
import { createDatabase } from '@autoflow/db';
import { fastifyOptions, listenUntilSignalled } from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { AutoflowMetrics, metricsPlugin } from '@autoflow/metrics';
import { resolveProviderSettings } from '@autoflow/provider-registry';
import { RunStarter } from '@autoflow/runs';
import { payloadDataConverter } from '@autoflow/temporal-codec';
import { resolveTemporalConnection, temporalConnectError } from '@autoflow/temporal-connection';
import { startTracing } from '@autoflow/tracing';
import { WebhookWorkflowCache, workflowByHookId } from '@autoflow/workflow-cache';
import { Client, Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { triggerIngest } from './app.js';
import { envSchema } from './env.js';

const env = envSchema.parse(process.env);
// Push endpoints read their provider's settings (e.g. Gmail's PUBSUB_PUSH_*); an invalid one stops the start.
const providerSettings = resolveProviderSettings(registry.providers, process.env);
// First: spans exist only once the SDK runs (nothing starts when no OTLP endpoint is set).
// Webhook and push senders are anyone on the internet: their `traceparent` does not choose our trace ids
// or force sampling; each event starts its own trace.
const tracing = startTracing({ serviceName: 'trigger-ingest', env, inboundTraceContext: 'ignore' });
const keyring = createKeyProvider(env);
const database = createDatabase(env.DATABASE_URL, { maxConnections: env.DATABASE_POOL_SIZE });
// TLS, mTLS and API key from env; a bad setting or a server the CA does not vouch for stops the start.
const temporalOptions = await resolveTemporalConnection(env, { namespace: env.TEMPORAL_NAMESPACE });
const connection = await Connection.connect(temporalOptions).catch(async (error: unknown) => {
  throw await temporalConnectError(temporalOptions, error);
});
// Temporal payloads are sealed with the env keyring (ENCRYPTION_KEYS), whichever provider holds the keys of
// secrets at rest: the codec runs on every payload, so it needs its keys in process.
const payloadKeyring = Keyring.fromEnv(env.ENCRYPTION_KEYS, env.ENCRYPTION_CURRENT_KEY_ID);
const temporal = new Client({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  dataConverter: payloadDataConverter(env.TEMPORAL_PAYLOAD_ENCRYPTION, payloadKeyring, database.db),
  interceptors: tracing.temporalClientInterceptors,
});

const app = Fastify(fastifyOptions({ logLevel: env.LOG_LEVEL, bodyLimit: env.WEBHOOK_MAX_BODY_BYTES }));
const metrics = new AutoflowMetrics({ app: 'trigger-ingest' });
await app.register(metricsPlugin, { metrics });
// The workflow each hook routes to, from memory: Postgres NOTIFYs every change of a hook's row.
const workflowsByHook = new WebhookWorkflowCache({
  load: workflowByHookId(database.db),
  notifications: database.sql,
  maxBytes: env.WEBHOOK_CACHE_MAX_BYTES,
  onLookup: (result) => metrics.webhookWorkflowLookup(result),
  onHeartbeatError: (error) =>
    app.log.warn({ err: error }, 'workflow cache heartbeat not sent; reading through'),
});
await workflowsByHook.start();
app.addHook('onClose', async () => {
  await workflowsByHook.stop();
  await connection.close();
  await database.close();
  await tracing.shutdown();
});
await app.register(tracing.fastifyPlugin);
await app.register(triggerIngest, {
  db: database.db,
  workflowsByHook,
  keyring,
  registry,
  runs: new RunStarter({ db: database.db, temporal, registry }),
  temporal,
  pushVerifiers: registry.pushVerifiers(providerSettings),
  readiness: { postgres: database.ping, temporal: () => connection.healthService.check({}) },
  maxBodyBytes: env.WEBHOOK_MAX_BODY_BYTES,
  rejections: metrics,
});
await listenUntilSignalled(app, { port: env.PORT, host: env.HOST, shutdownGraceMs: env.SHUTDOWN_GRACE_MS });
