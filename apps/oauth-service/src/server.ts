import { createKeyProvider } from '@autoflow/crypto';
import { createDatabase, credentials, postgresRateLimitCounter } from '@autoflow/db';
import {
  createTokenService,
  fastifyOptions,
  listenUntilSignalled,
  SharedRateLimits,
} from '@autoflow/http-kit';
import { registry } from '@autoflow/installed-providers';
import { AutoflowMetrics, metricsPlugin } from '@autoflow/metrics';
import { OAuthConnector } from '@autoflow/oauth';
import { resolveOAuth2Providers } from '@autoflow/provider-registry';
import { resolveTemporalConnection, temporalConnectError } from '@autoflow/temporal-connection';
import { startTracing } from '@autoflow/tracing';
import { Connection } from '@temporalio/client';
import Fastify from 'fastify';
import { oauthService } from './app.js';
import { envSchema, redirectAllowlist } from './env.js';

const env = envSchema.parse(process.env);
// First: spans exist only once the SDK runs (nothing starts when no OTLP endpoint is set).
const tracing = startTracing({ serviceName: 'oauth-service', env });
// Fails closed: no keys, no service.
const keyring = createKeyProvider(env);
const database = createDatabase(env.DATABASE_URL, { maxConnections: 5 });
// TLS, mTLS and API key from env; a bad setting or a server the CA does not vouch for stops the start.
const temporalOptions = await resolveTemporalConnection(env);
const connection = await Connection.connect(temporalOptions).catch(async (error: unknown) => {
  throw await temporalConnectError(temporalOptions, error);
});

const app = Fastify({ ...fastifyOptions({ logLevel: env.LOG_LEVEL }), trustProxy: env.TRUST_PROXY });
await app.register(metricsPlugin, { metrics: new AutoflowMetrics({ app: 'oauth-service' }) });
app.addHook('onClose', async () => {
  await connection.close();
  await database.close();
  await tracing.shutdown();
});
await app.register(tracing.fastifyPlugin);
await app.register(oauthService, {
  connector: new OAuthConnector({
    db: database.db,
    keyring,
    registry,
    oauth: resolveOAuth2Providers(registry.providers, process.env),
    callbackUrl: env.OAUTH_CALLBACK_URL,
    redirectAllowlist: redirectAllowlist(env),
    allowHttpEndpoints: env.OAUTH_ALLOW_HTTP_ENDPOINTS === 'true',
  }),
  tokens: createTokenService(env.JWT_SECRET),
  rateLimits: new SharedRateLimits(postgresRateLimitCounter(database.db)),
  rateLimitPerMinute: env.OAUTH_RATE_LIMIT_PER_MINUTE,
  defaultRedirectUrl: env.OAUTH_DEFAULT_REDIRECT_URL,
  corsAllowedOrigins: env.CORS_ALLOWED_ORIGINS,
  readiness: {
    // Reads the shared schema, so a missing migration shows as not ready.
    postgres: () => database.db.select({ id: credentials.id }).from(credentials).limit(1),
    temporal: () => connection.healthService.check({}),
  },
});
await listenUntilSignalled(app, { port: env.PORT, host: env.HOST, shutdownGraceMs: env.SHUTDOWN_GRACE_MS });
