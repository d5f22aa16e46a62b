import { createKeyProvider, Keyring } from '@autoflow/crypto';
import { createDatabase, postgresRateLimitCounter } from '@autoflow/db';
import {
  createTokenService,
  fastifyOptions,
  listenUntilSignalled,
  SharedRateLimits,
} from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { AutoflowMetrics, metricsPlugin } from '@autoflow/metrics';
import { CredentialService } from '@autoflow/oauth';
import { resolveOAuth2Providers } from '@autoflow/provider-registry';
import {
  ExecutionChanges,
  ExecutionControl,
  RunStarter,
  ScheduleManager,
  TriggerListeners,
} from '@autoflow/runs';
import { payloadDataConverter } from '@autoflow/temporal-codec';
import { resolveTemporalConnection, temporalConnectError } from '@autoflow/temporal-connection';
import { startTracing } from '@autoflow/tracing';
import { Client, Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { apiGateway } from './app.js';
import { envSchema } from './env.js';

const env = envSchema.parse(process.env);
// First: spans exist only once the SDK runs (nothing starts when no OTLP endpoint is set).
const tracing = startTracing({ serviceName: 'api-gateway', env });
const keyring = createKeyProvider(env);
const database = createDatabase(env.DATABASE_URL);
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

const oauthProviders = resolveOAuth2Providers(registry.providers, process.env);
const runs = new RunStarter({ db: database.db, temporal, registry });
// One LISTEN connection per replica, for the live execution streams.
const executionChanges = new ExecutionChanges(database.sql);
await executionChanges.start();
const app = Fastify({ ...fastifyOptions({ logLevel: env.LOG_LEVEL }), trustProxy: env.TRUST_PROXY });
const metrics = new AutoflowMetrics({ app: 'api-gateway' });
await app.register(metricsPlugin, { metrics });
const authWindowMs = env.AUTH_RATE_LIMIT_WINDOW_SECONDS * 1000;
const rule = (max: number) => ({ max, windowMs: authWindowMs });
app.addHook('onClose', async () => {
  await executionChanges.stop();
  await connection.close();
  await database.close();
  await tracing.shutdown();
});
await app.register(tracing.fastifyPlugin);
await app.register(apiGateway, {
  db: database.db,
  readiness: { postgres: database.ping, temporal: () => connection.healthService.check({}) },
  tokens: createTokenService(env.JWT_SECRET),
  keyring,
  payloadKeyring,
  registry,
  runs,
  executions: new ExecutionControl({ db: database.db, temporal, runs }),
  executionChanges,
  streamHeartbeatMs: env.EXECUTION_STREAM_HEARTBEAT_SECONDS * 1000,
  ...(env.TEMPORAL_UI_BASE_URL
    ? { temporalUi: { baseUrl: env.TEMPORAL_UI_BASE_URL, namespace: env.TEMPORAL_NAMESPACE } }
    : {}),
  schedules: new ScheduleManager({ temporal, registry, runs }),
  listeners: new TriggerListeners({ temporal, registry }),
  credentials: new CredentialService({
    db: database.db,
    keyring,
    oauth: oauthProviders,
    allowHttpEndpoints: env.OAUTH_ALLOW_HTTP_ENDPOINTS === 'true',
    metrics,
  }),
  oauthProviders,
  publicWebhookBaseUrl: env.PUBLIC_WEBHOOK_BASE_URL,
  temporalUiOrigin: env.TEMPORAL_UI_ORIGIN,
  corsAllowedOrigins: env.CORS_ALLOWED_ORIGINS,
  rateLimits: new SharedRateLimits(postgresRateLimitCounter(database.db)),
  authLimits: {
    login: {
      perAddress: rule(env.AUTH_LOGIN_MAX_PER_ADDRESS),
      perAccount: rule(env.AUTH_LOGIN_MAX_PER_ACCOUNT),
    },
    register: {
      perAddress: rule(env.AUTH_REGISTER_MAX_PER_ADDRESS),
      perAccount: rule(env.AUTH_REGISTER_MAX_PER_ACCOUNT),
    },
  },
});
await listenUntilSignalled(app, { port: env.PORT, host: env.HOST, shutdownGraceMs: env.SHUTDOWN_GRACE_MS });
