import { createKeyProvider, Keyring } from '@autoflow/crypto';
import { createDatabase } from '@autoflow/db';
import { createEgressDispatcher, parseAllowedHosts } from '@autoflow/egress';
import { fastifyOptions } from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { AutoflowMetrics, metricsPlugin, temporalSdkPrometheus } from '@autoflow/metrics';
import { CredentialService } from '@autoflow/oauth';
import {
  credentialHostsByProvider,
  ProviderSettingsError,
  resolveOAuth2Providers,
  resolveProviderSettings,
} from '@autoflow/provider-registry';
import { RunStarter } from '@autoflow/runs';
import { payloadDataConverter } from '@autoflow/temporal-codec';
import { resolveTemporalConnection, temporalConnectError } from '@autoflow/temporal-connection';
import { startTracing } from '@autoflow/tracing';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime } from '@temporalio/worker';
import Fastify from 'fastify';
import { workerHttp } from './app.js';
import { envSchema, temporalMetricsBindAddress } from './env.js';
import { UnknownTaskQueueError } from './task-queue-selection.js';
import { createAutomationWorkers } from './worker.js';

const env = envSchema.parse(process.env);
// First: spans exist only once the SDK runs (nothing starts when no OTLP endpoint is set).
const tracing = startTracing({ serviceName: 'worker', env });
/** Every provider's settings, parsed once: actions and listeners get only their own provider's. */
function providerSettingsOrExit(): ReadonlyMap<string, unknown> {
  try {
    return resolveProviderSettings(registry.providers, process.env);
  } catch (error) {
    if (!(error instanceof ProviderSettingsError)) throw error;
    console.error(`worker: ${error.message}`);
    process.exit(1);
  }
}
const providerSettings = providerSettingsOrExit();
// Fails closed: without keys (or Vault settings) no credential can be opened, so the worker does not start.
const keyring = createKeyProvider(env);
const app = Fastify(fastifyOptions({ logLevel: env.LOG_LEVEL }));
const metrics = new AutoflowMetrics({ app: 'worker' });
await app.register(metricsPlugin, { metrics });

const sdkLevels: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' };
const sdkLog = app.log.child({ component: 'temporal-sdk' });
const sdkMetricsAddress = temporalMetricsBindAddress(env);
Runtime.install({
  // The SDK's worker metrics on a Prometheus endpoint of its own (TEMPORAL_METRICS_BIND_ADDRESS).
  ...(sdkMetricsAddress ? { telemetryOptions: { metrics: temporalSdkPrometheus(sdkMetricsAddress) } } : {}),
  // The SDK's own logs join the app's JSON log stream.
  logger: new DefaultLogger(sdkLevels[env.LOG_LEVEL] ?? 'ERROR', ({ level, message, meta }) => {
    if (level === 'ERROR') sdkLog.error(meta ?? {}, message);
    else if (level === 'WARN') sdkLog.warn(meta ?? {}, message);
    else sdkLog.info(meta ?? {}, message);
  }),
});

const database = createDatabase(env.DATABASE_URL, { maxConnections: env.DATABASE_POOL_SIZE });
if (env.TEMPORAL_PAYLOAD_ENCRYPTION !== 'required')
  app.log.warn(
    { TEMPORAL_PAYLOAD_ENCRYPTION: env.TEMPORAL_PAYLOAD_ENCRYPTION },
    'the worker accepts unencrypted Temporal payloads',
  );
// TLS, mTLS and API key from env; a bad setting or a server the CA does not vouch for stops the start.
const temporalOptions = await resolveTemporalConnection(env, { namespace: env.TEMPORAL_NAMESPACE });
const connection = await NativeConnection.connect(temporalOptions).catch(async (error: unknown) => {
  throw await temporalConnectError(temporalOptions, error);
});
// A client too: listener workflows' activities start runs for the events they find.
const clientConnection = await Connection.connect(temporalOptions).catch(async (error: unknown) => {
  throw await temporalConnectError(temporalOptions, error);
});
// Temporal payloads are sealed with the env keyring (ENCRYPTION_KEYS), whichever provider holds the keys of
// secrets at rest: the codec runs on every payload, so it needs its keys in process.
const payloadKeyring = Keyring.fromEnv(env.ENCRYPTION_KEYS, env.ENCRYPTION_CURRENT_KEY_ID);
// Payloads are encrypted and bound to their run's owner; the workers refuse any they cannot authenticate.
const dataConverter = payloadDataConverter(env.TEMPORAL_PAYLOAD_ENCRYPTION, payloadKeyring, database.db);
const temporal = new Client({
  connection: clientConnection,
  namespace: env.TEMPORAL_NAMESPACE,
  dataConverter,
  interceptors: tracing.temporalClientInterceptors,
});
const workers = await createAutomationWorkers({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  dataConverter,
  db: database.db,
  registry,
  httpDispatcher: createEgressDispatcher({ allowedHosts: parseAllowedHosts(env.HTTP_ACTION_ALLOWED_HOSTS) }),
  credentials: new CredentialService({
    db: database.db,
    keyring,
    oauth: resolveOAuth2Providers(registry.providers, process.env),
    credentialHosts: credentialHostsByProvider(registry.providers, providerSettings),
    allowHttpEndpoints: env.OAUTH_ALLOW_HTTP_ENDPOINTS === 'true',
    metrics,
  }),
  runs: new RunStarter({ db: database.db, temporal, registry }),
  providerSettings,
  maxConcurrentActivities: env.WORKER_MAX_CONCURRENT_ACTIVITIES,
  maxConcurrentWorkflowTasks: env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
  maxLocalActionsPerTenant: env.WORKER_MAX_LOCAL_ACTIONS_PER_TENANT,
  shutdownGraceMs: env.WORKER_SHUTDOWN_GRACE_MS,
  taskQueues: env.WORKER_TASK_QUEUES,
  metrics,
  tracing,
}).catch((error: unknown) => {
  if (!(error instanceof UnknownTaskQueueError)) throw error;
  console.error(`worker: ${error.message}`);
  process.exit(1);
});

await app.register(workerHttp, {
  readiness: {
    postgres: database.ping,
    workers: async () => {
      const notRunning = workers.filter((worker) => worker.getState() !== 'RUNNING');
      if (notRunning.length > 0) throw new Error(`${notRunning.length} worker(s) not running`);
    },
  },
});
await app.listen({ port: env.PORT, host: env.HOST });
app.log.info(
  { queues: workers.map((worker) => worker.options.taskQueue), sdkMetrics: sdkMetricsAddress ?? 'off' },
  'worker polling',
);

// The SDK's Runtime handles SIGINT/SIGTERM: workers stop polling, in-flight activities get
// WORKER_SHUTDOWN_GRACE_MS to finish (then are cancelled), and run() resolves; the process then exits 0.
try {
  await Promise.all(workers.map((worker) => worker.run()));
} finally {
  await app.close();
  await connection.close();
  await clientConnection.close();
  await database.close();
  await tracing.shutdown();
}
